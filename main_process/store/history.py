"""Reading executions back from the store: finished runs, listings, event logs.

Active executions are answered from memory by the state manager; everything here
reads rows that the writer has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from app.blueprint import Blueprint
from app.errors import ErrorInfo, ExecutionNotFoundError, OutputUnavailableError
from app.events import Event
from app.results import ExecutionSummary
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.execution_state import EventRow, ExecutionState, NodeState, event_from_row
from main_process.store import Store
from main_process.store.chunks import CHUNK_EVENTS, NodeOutcome, decode_chunk, decode_outcomes
from main_process.store.ops import RUN_CHUNKS
from main_process.store.serialization import dumps, loads


class ExecutionRow(NamedTuple):
    """An ``executions`` row as recorded (JSON columns still bytes)."""

    id: str
    blueprint_id: str
    blueprint_name: str | None
    blueprint_hash: str
    blueprint_json: bytes
    ui_json: bytes | None
    source: str | None
    inputs_json: bytes
    config_json: bytes
    status: str
    error_json: bytes | None
    outputs_json: bytes | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    owner_id: str | None
    owner_pid: int | None
    owner_host: str | None
    lease_until: float | None
    #: A ``blueprint.call`` child's parent execution and node (None otherwise).
    parent_execution_id: str | None
    parent_node_id: str | None
    error_handler_execution: str | None
    handler_for: str | None


_EXECUTION_COLUMNS = ", ".join(ExecutionRow._fields)


def execution_row(store: Store, execution_id: str) -> ExecutionRow | None:
    row = store.query_one(
        f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE id = ?", (execution_id,)
    )
    return None if row is None else ExecutionRow(*row)


def execution_source(store: Store, execution_id: str) -> str | None:
    """How the execution was started: ``"id"`` (from the library) or ``"inline"``."""
    row = store.query_one("SELECT source FROM executions WHERE id = ?", (execution_id,))
    return None if row is None else row["source"]


@dataclass(frozen=True, slots=True)
class SpilledOutput:
    """A recorded output left in its spill file by ``load_execution(spilled=False)``:
    whoever needs the value reads it (one node at a time), see
    :mod:`main_process.engine.client_results`."""

    record: NodeOutcome

    def read(self) -> Any:
        """The value (OutputUnavailableError when its file is missing or unreadable)."""
        return _read_spilled(self.record)


def node_outcomes(
    store: Store, execution_id: str, *, spilled: bool = True
) -> dict[str, NodeOutcome]:
    """The latest recorded outcome of each node (spilled outputs read back, unless
    ``spilled`` is False: then their ``output`` stays None)."""
    outcomes: dict[str, NodeOutcome] = {}
    for row in store.query(NODE_CHUNKS_SQL, (execution_id,)):
        for record in decode_outcomes(row["chunk"]):
            outcomes[record.node_id] = record
    if not spilled:
        return outcomes
    for node_id, record in outcomes.items():
        if record.output_path is not None and record.output is None:
            try:
                outcomes[node_id] = record._replace(output=_read_spilled(record))
            except OutputUnavailableError as exc:
                # That node alone: its output shows as unavailable (its error says
                # why), the rest of the execution shows, and a resume re-runs it.
                outcomes[node_id] = record._replace(error=exc.to_info().model_dump())
    return outcomes


def _read_spilled(record: NodeOutcome) -> Any:
    assert record.output_path is not None
    try:
        return loads(Path(record.output_path).read_bytes())
    except (OSError, ValueError) as exc:
        reason = "missing" if isinstance(exc, FileNotFoundError) else f"unreadable ({exc})"
        raise OutputUnavailableError(
            f"the recorded output of node {record.node_id!r} is unavailable: its file "
            f"{record.output_path} is {reason}; resume the execution to run the node again",
            where=record.output_path,
            node_id=record.node_id,
        ) from None


def output_unavailable(error: ErrorInfo | None) -> bool:
    """Whether a node's recorded error says its recorded output cannot be read back."""
    return error is not None and error.type == OutputUnavailableError.type_name


def variables(store: Store, execution_id: str) -> dict[str, Any]:
    rows = store.query(
        "SELECT key, value_json FROM variables WHERE execution_id = ?", (execution_id,)
    )
    return {row["key"]: loads(row["value_json"]) for row in rows}


def variable(store: Store, execution_id: str, key: str, default: Any = None) -> Any:
    row = store.query_one(
        "SELECT value_json FROM variables WHERE execution_id = ? AND key = ?",
        (execution_id, key),
    )
    return default if row is None else loads(row["value_json"])


def checkpoint(store: Store, execution_id: str, checkpoint_id: str) -> dict[str, Any] | None:
    """A checkpoint's snapshot, None when there is no such checkpoint."""
    row = store.query_one(
        "SELECT data_json FROM checkpoints WHERE execution_id = ? AND checkpoint_id = ?",
        (execution_id, checkpoint_id),
    )
    return None if row is None else dict(loads(row["data_json"]))


def _error(data: bytes | None) -> ErrorInfo | None:
    return None if data is None else ErrorInfo(**loads(data))


def recorded_blueprint(store: Store, execution_id: str) -> dict[str, Any] | None:
    """The blueprint document an execution ran, with its recorded ``ui`` (None: no
    such execution). Read from the row, not the library: the file may have changed."""
    row = store.query_one(
        "SELECT blueprint_json, ui_json FROM executions WHERE id = ?", (execution_id,)
    )
    if row is None:
        return None
    data: dict[str, Any] = dict(loads(row["blueprint_json"]))
    if row["ui_json"] is not None:
        data["ui"] = loads(row["ui_json"])
    return data


def load_execution(store: Store, execution_id: str, *, spilled: bool = True) -> ExecutionState:
    """An execution as recorded, with node outputs (spilled ones read from their files;
    with ``spilled=False`` left there, each output a :class:`SpilledOutput`)."""
    row = execution_row(store, execution_id)
    if row is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}", where="execution_id")
    data = loads(row.blueprint_json)
    if row.ui_json is not None:
        data["ui"] = loads(row.ui_json)
    blueprint = Blueprint.model_validate(data)
    state = ExecutionState(
        execution_id=execution_id,
        blueprint=blueprint,
        blueprint_hash=row.blueprint_hash,
        inputs=loads(row.inputs_json) or {},
        config=loads(row.config_json) or {},
        status=ExecutionStatus(row.status),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=_error(row.error_json),
        outputs=loads(row.outputs_json),
        nodes={spec.id: NodeState(spec.id) for spec in blueprint.nodes},
        error_handler_execution=row.error_handler_execution,
        handler_for=row.handler_for,
    )
    for node_id, record in node_outcomes(store, execution_id, spilled=spilled).items():
        node = state.nodes.get(node_id) or NodeState(node_id)
        state.nodes[node_id] = node
        node.status = NodeStatus(record.status)
        node.attempts = record.attempts
        node.started_at = record.started_at
        node.finished_at = record.finished_at
        node.port = record.port
        node.output = record.output
        if record.output_path is not None and record.output is None and not spilled:
            node.output = SpilledOutput(record)
        node.output_size = record.output_size
        node.input = record.input
        node.input_json = None if node.input is None else dumps(node.input)
        node.error = None if record.error is None else ErrorInfo(**record.error)
    if row.parent_execution_id is not None:
        state.parent = (row.parent_execution_id, row.parent_node_id or "")
    state.variables.update(variables(store, execution_id))
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
    record: NodeOutcome | None = None
    for chunk in store.query(NODE_CHUNKS_SQL, (execution_id,)):
        for candidate in decode_outcomes(chunk["chunk"]):
            if candidate.node_id == node_id:
                record = candidate
    if record is None:
        return None, None
    if record.output_path is not None and record.output is None:
        return _read_spilled(record), record.output_size
    return record.output, record.output_size


def stored_outputs(store: Store, execution_id: str) -> tuple[Any, int | None]:
    """An execution's recorded ``(outputs, size in bytes)``; ``(None, None)`` before it
    ends. Raises ExecutionNotFoundError for an unknown execution."""
    row = store.query_one("SELECT outputs_json FROM executions WHERE id = ?", (execution_id,))
    if row is None:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}", where="execution_id")
    data = row["outputs_json"]
    return (None, None) if data is None else (loads(data), len(data))


#: An execution's node outcome chunks, in order.
NODE_CHUNKS_SQL = (
    f"SELECT c.chunk FROM runs r JOIN chunks c ON {RUN_CHUNKS}"
    " WHERE r.id = ? AND c.key % 2 = 1 ORDER BY c.key"
)
#: The last recorded seq, read from the newest chunk through the primary key.
LAST_SEQ_SQL = (
    f"SELECT c.last_seq AS seq FROM runs r JOIN chunks c ON {RUN_CHUNKS}"
    " WHERE r.id = ? AND c.key % 2 = 0 ORDER BY c.key DESC LIMIT 1"
)


def last_seq(store: Store, execution_id: str) -> int:
    row = store.query_one(LAST_SEQ_SQL, (execution_id,))
    return int(row["seq"] or 0) if row else 0


def event_rows(
    store: Store, execution_id: str, after_seq: int, limit: int | None = None
) -> list[EventRow]:
    """Recorded event rows after ``after_seq`` (at most ``limit``), read chunk by chunk."""
    events: list[EventRow] = []
    # Both queries walk the chunks' key (run number, first_seq): the chunk holding
    # seq + 1 is the last one starting at or before it. (A filter on last_seq would
    # read every chunk of the execution, blobs included, for each page.)
    sql = (
        "SELECT c.chunk FROM runs r JOIN chunks c"
        " ON c.key BETWEEN r.number * 8589934592 + ? * 2 AND r.number * 8589934592 + 8589934591"
        " WHERE r.id = ? AND c.key % 2 = 0 ORDER BY c.key LIMIT ?"
    )
    # Enough chunks for the page (chunks hold at most CHUNK_EVENTS), not a fixed many.
    batch = 16 if limit is None else 2 + limit // CHUNK_EVENTS
    seq = after_seq
    while True:
        start = store.query_one(
            "SELECT (c.key - r.number * 8589934592) / 2 FROM runs r JOIN chunks c"
            " ON c.key BETWEEN r.number * 8589934592 AND r.number * 8589934592 + ? * 2"
            " WHERE r.id = ? AND c.key % 2 = 0 ORDER BY c.key DESC LIMIT 1",
            (seq + 1, execution_id),
        )
        rows = store.query(sql, (start[0] if start else 0, execution_id, batch))
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
    return [event_from_row(row) for row in event_rows(store, execution_id, after_seq, limit)]


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
        " finished_at, error_json, parent_execution_id, error_handler_execution,"
        " handler_for,"
        # Only the config's injected faults, not its (possibly large) pins or inputs.
        " json_extract(CAST(config_json AS TEXT), '$.inject') AS inject"
        f" FROM executions {where}"
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
                inject=loads(r["inject"]) if r["inject"] else None,
                parent_execution_id=r["parent_execution_id"],
                error_handler_execution_id=r["error_handler_execution"],
                handler_for=r["handler_for"],
            )
        )
    return summaries


def stream_items(
    store: Store, execution_id: str, node_id: str, offset: int, limit: int
) -> list[Any]:
    """Items ``[offset, offset + limit)`` of a ``record: full`` stream, read only from
    the chunks that hold them."""
    end = offset + limit
    items: list[Any] = []
    for row in store.query(
        "SELECT first_item, data FROM stream_chunks WHERE execution_id = ? AND node_id = ?"
        " AND first_item < ? AND first_item + items > ? ORDER BY seq",
        (execution_id, node_id, end, offset),
    ):
        first = row["first_item"]
        chunk = loads(row["data"])
        items.extend(chunk[max(0, offset - first) : end - first])
    return items


def stream_chunk(store: Store, execution_id: str, node_id: str, seq: int) -> list[Any] | None:
    """Chunk ``seq`` of a ``record: full`` stream; None past its last."""
    row = store.query_one(
        "SELECT data FROM stream_chunks WHERE execution_id = ? AND node_id = ? AND seq = ?",
        (execution_id, node_id, seq),
    )
    return None if row is None else loads(row["data"])
