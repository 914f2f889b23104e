"""Reading executions back from the store: finished runs, listings, event logs.

Active executions are answered from memory by the state manager; everything here
reads rows that the writer has committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.blueprint import Blueprint
from app.errors import ErrorInfo, ExecutionNotFoundError, StoreError
from app.events import Event
from app.results import ExecutionSummary
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.execution_state import EventRow, ExecutionState, NodeState, event_from_row
from main_process.store import Store
from main_process.store.chunks import CHUNK_EVENTS, decode_chunk, decode_nodes
from main_process.store.serialization import dumps, loads


def _error(data: bytes | None) -> ErrorInfo | None:
    return None if data is None else ErrorInfo(**loads(data))


def load_execution(store: Store, execution_id: str) -> ExecutionState:
    """An execution as recorded, with node outputs (spilled ones read from their files)."""
    row = store.query_one("SELECT * FROM executions WHERE id = ?", (execution_id,))
    if row is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}", where="execution_id")
    data = loads(row["blueprint_json"])
    if row["ui_json"] is not None:
        data["ui"] = loads(row["ui_json"])
    blueprint = Blueprint.model_validate(data)
    state = ExecutionState(
        execution_id=execution_id,
        blueprint=blueprint,
        blueprint_hash=row["blueprint_hash"],
        inputs=loads(row["inputs_json"]) or {},
        config=loads(row["config_json"]) or {},
        status=ExecutionStatus(row["status"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=_error(row["error_json"]),
        outputs=loads(row["outputs_json"]),
        nodes={spec.id: NodeState(spec.id) for spec in blueprint.nodes},
    )
    for node_id, record in store.node_outcomes(execution_id).items():
        node = state.nodes.get(node_id) or NodeState(node_id)
        state.nodes[node_id] = node
        node.status = NodeStatus(record["status"])
        node.attempts = record["attempts"]
        node.started_at = record["started_at"]
        node.finished_at = record["finished_at"]
        node.port = record["port"]
        node.output = record["output"]
        node.output_size = record["output_size"]
        node.input = record["input"]
        node.input_json = None if node.input is None else dumps(node.input)
        node.error = None if record["error"] is None else ErrorInfo(**record["error"])
    for vrow in store.query(
        "SELECT key, value_json FROM variables WHERE execution_id = ?", (execution_id,)
    ):
        state.variables[vrow["key"]] = loads(vrow["value_json"])
    state.seq = last_seq(store, execution_id)
    return state


def unknown_node(execution_id: str, node_id: str) -> ExecutionNotFoundError:
    """The error for a node id that the execution's blueprint does not have."""
    return ExecutionNotFoundError(
        f"execution {execution_id!r} has no node {node_id!r}", where="node_id", node_id=node_id
    )


def stored_node_output(store: Store, execution_id: str, node_id: str) -> tuple[Any, int | None]:
    """One node's recorded ``(output, output_size)``; ``(None, None)`` if it never finished.

    Unlike :func:`load_execution` this reads only this node's spilled file, so paging
    one node of a wide execution does not parse every other node's output.
    Raises ExecutionNotFoundError for an unknown execution or a node its blueprint lacks.
    """
    row = store.query_one("SELECT blueprint_json FROM executions WHERE id = ?", (execution_id,))
    if row is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}", where="execution_id")
    nodes = loads(row["blueprint_json"]).get("nodes") or []
    if not any(node.get("id") == node_id for node in nodes):
        raise unknown_node(execution_id, node_id)
    record: dict[str, Any] | None = None
    for chunk in store.query(
        "SELECT chunk FROM node_runs WHERE execution_id = ? ORDER BY first_seq", (execution_id,)
    ):
        for candidate in decode_nodes(chunk["chunk"]):
            if candidate["node_id"] == node_id:
                record = candidate
    if record is None:
        return None, None
    path = record["output_path"]
    if path is not None and record["output"] is None:
        try:
            return loads(Path(path).read_bytes()), record["output_size"]
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"spilled output of node {node_id!r} is unreadable: {exc}", where=str(path)
            ) from None
    return record["output"], record["output_size"]


#: The last recorded seq, read from the newest chunk through the primary key.
LAST_SEQ_SQL = (
    "SELECT last_seq AS seq FROM events WHERE execution_id = ? ORDER BY first_seq DESC LIMIT 1"
)


def last_seq(store: Store, execution_id: str) -> int:
    row = store.query_one(LAST_SEQ_SQL, (execution_id,))
    return int(row["seq"] or 0) if row else 0


def stored_event_rows(
    store: Store, execution_id: str, after_seq: int, limit: int | None = None
) -> list[EventRow]:
    """Recorded event rows after ``after_seq`` (at most ``limit``), read chunk by chunk."""
    events: list[EventRow] = []
    # Both queries walk the primary key (execution_id, first_seq): the chunk holding
    # seq + 1 is the last one starting at or before it. (A filter on last_seq would
    # read every chunk of the execution, blobs included, for each page.)
    sql = (
        "SELECT chunk FROM events WHERE execution_id = ? AND first_seq >= ?"
        " ORDER BY first_seq LIMIT ?"
    )
    # Enough chunks for the page (chunks hold at most CHUNK_EVENTS), not a fixed many.
    batch = 16 if limit is None else 2 + limit // CHUNK_EVENTS
    seq = after_seq
    while True:
        start = store.query_one(
            "SELECT first_seq FROM events WHERE execution_id = ? AND first_seq <= ?"
            " ORDER BY first_seq DESC LIMIT 1",
            (execution_id, seq + 1),
        )
        rows = store.query(sql, (execution_id, start[0] if start else 0, batch))
        for r in rows:
            for row in decode_chunk(execution_id, r["chunk"]):
                if row[1] > seq:
                    events.append(row)
                    seq = row[1]
                    if limit is not None and len(events) >= limit:
                        return events
        if len(rows) < batch:
            return events


def stored_events(
    store: Store, execution_id: str, after_seq: int, limit: int | None = None
) -> list[Event]:
    """Recorded events after ``after_seq`` (at most ``limit``), as models."""
    return [event_from_row(row) for row in stored_event_rows(store, execution_id, after_seq, limit)]


def list_executions(
    store: Store,
    active: dict[str, ExecutionState],
    *,
    limit: int = 50,
    status: str | None = None,
    blueprint_id: str | None = None,
) -> list[ExecutionSummary]:
    """Recent executions, newest first; active ones show their live status."""
    clauses: list[str] = []
    params: list[Any] = []
    if status:
        clauses.append("status = ?")
        params.append(status)
    if blueprint_id:
        clauses.append("blueprint_id = ?")
        params.append(blueprint_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = store.query(
        "SELECT id, blueprint_id, blueprint_name, status, created_at, started_at,"
        f" finished_at, error_json FROM executions {where}"
        " ORDER BY created_at DESC LIMIT ?",
        (*params, max(1, min(limit, 10_000))),
    )
    summaries = []
    for r in rows:
        live = active.get(r["id"])
        summaries.append(
            ExecutionSummary(
                execution_id=r["id"],
                blueprint_id=r["blueprint_id"],
                blueprint_name=r["blueprint_name"],
                status=live.status if live else ExecutionStatus(r["status"]),
                created_at=r["created_at"],
                started_at=live.started_at if live else r["started_at"],
                finished_at=r["finished_at"],
                error=_error(r["error_json"]),
            )
        )
    return summaries
