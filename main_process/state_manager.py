"""The state manager: one place that changes execution and node state.

It is the seed's StateManager in Python form. Every change goes through it, and
every change becomes an :class:`~app.events.Event` with the execution's next
``seq`` (gap-free, from 1; a resumed execution continues where its log ended).
Active executions live in memory, so the executor's hot path touches no disk:
rows and events are queued to the :class:`~main_process.store.Store`'s writer.
Finished executions are read back from the store.

Subscribers are plain callables (the engine turns them into async queues for
``events()``); there is no Qt here. A subscriber that raises is logged and kept
out of the executor's way.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.blueprint import Blueprint
from app.errors import ErrorInfo, ExecutionNotFoundError
from app.events import Event, EventKind
from app.results import ExecutionResult, ExecutionSummary, NodeResult
from app.states import ExecutionStatus, NodeStatus
from main_process.serialization import dumps, loads
from main_process.store import Store

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]

_MISSING: Any = object()

_NODE_UPSERT = (
    "INSERT INTO node_runs (execution_id, node_id, status, attempts, started_at, finished_at,"
    " port, output_json, output_path, output_size, input_json, error_json)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (execution_id, node_id) DO UPDATE SET status = excluded.status,"
    " attempts = excluded.attempts, started_at = excluded.started_at,"
    " finished_at = excluded.finished_at, port = excluded.port,"
    " output_json = excluded.output_json, output_path = excluded.output_path,"
    " output_size = excluded.output_size, input_json = excluded.input_json,"
    " error_json = excluded.error_json"
)


@dataclass(slots=True)
class NodeState:
    """One node's state in one execution; ``output`` is the live value."""

    node_id: str
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    port: str | None = None
    output: Any = None
    output_json: bytes | None = None
    input: Any = None
    input_json: bytes | None = None
    error: ErrorInfo | None = None

    def to_result(self) -> NodeResult:
        return NodeResult(
            node_id=self.node_id,
            status=self.status,
            attempts=self.attempts,
            started_at=self.started_at,
            finished_at=self.finished_at,
            output=self.output,
            input=self.input,
            error=self.error,
            port=self.port,
        )


@dataclass(slots=True)
class ExecutionState:
    """Everything known about one execution while it is active."""

    execution_id: str
    blueprint: Blueprint
    blueprint_hash: str
    inputs: dict[str, Any]
    config: dict[str, Any]
    status: ExecutionStatus = ExecutionStatus.PENDING
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    error: ErrorInfo | None = None
    outputs: Any = None
    nodes: dict[str, NodeState] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    events: list[Event] = field(default_factory=list)
    listeners: list[Subscriber] = field(default_factory=list)
    #: The terminal event, held back until the store has committed it (see ``release``).
    held: Event | None = None

    def to_result(self) -> ExecutionResult:
        return ExecutionResult(
            execution_id=self.execution_id,
            blueprint_id=self.blueprint.id,
            status=self.status,
            success=self.status is ExecutionStatus.COMPLETED,
            outputs=self.outputs,
            error=self.error,
            nodes={nid: node.to_result() for nid, node in self.nodes.items()},
            inputs=self.inputs,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            blueprint_hash=self.blueprint_hash,
        )


class StateManager:
    """Creates, changes and records executions; the only writer of their state."""

    def __init__(self, store: Store, *, owner_id: str, owner_pid: int, owner_host: str) -> None:
        self.store = store
        self.owner_id = owner_id
        self.owner_pid = owner_pid
        self.owner_host = owner_host
        self.lease_seconds = 15.0
        self._active: dict[str, ExecutionState] = {}
        self._subscribers: list[Subscriber] = []

    # -- subscriptions -------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Subscriber:
        """Call ``callback`` with every event of every execution, as it happens."""
        self._subscribers.append(callback)
        return callback

    def unsubscribe(self, callback: Subscriber) -> None:
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def listen(self, execution_id: str, callback: Subscriber) -> bool:
        """Follow one active execution; False when it is not active here."""
        state = self._active.get(execution_id)
        if state is None:
            return False
        state.listeners.append(callback)
        return True

    def unlisten(self, execution_id: str, callback: Subscriber) -> None:
        state = self._active.get(execution_id)
        if state is not None and callback in state.listeners:
            state.listeners.remove(callback)

    # -- events --------------------------------------------------------------------

    def _emit(
        self,
        state: ExecutionState,
        kind: EventKind,
        *,
        node_id: str | None = None,
        status: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
        ts: float | None = None,
        hold: bool = False,
    ) -> Event:
        state.seq += 1
        now = time.time() if ts is None else ts
        event = Event.model_construct(
            execution_id=state.execution_id,
            seq=state.seq,
            ts=now,
            kind=kind,
            node_id=node_id,
            status=status,
            attempt=attempt,
            data=data,
        )
        self.store.enqueue_event(
            (
                state.execution_id,
                state.seq,
                now,
                kind,
                node_id,
                status,
                attempt,
                None if data is None else orjson.dumps(data, default=str),
            )
        )
        if hold:
            state.held = event
        else:
            self._deliver(state, event)
        return event

    def _deliver(self, state: ExecutionState, event: Event) -> None:
        state.events.append(event)
        for callback in (*self._subscribers, *state.listeners):
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")

    def release(self, execution_id: str) -> ExecutionState | None:
        """Deliver the held terminal event and forget the execution.

        Called by the engine once the store has committed everything, so nobody
        hears "finished" about an execution whose record could still be lost.
        """
        state = self._active.pop(execution_id, None)
        if state is not None and state.held is not None:
            held, state.held = state.held, None
            self._deliver(state, held)
        return state

    # -- executions ----------------------------------------------------------------

    def initialize_execution(
        self,
        blueprint: Blueprint,
        inputs: dict[str, Any],
        config: dict[str, Any],
        *,
        blueprint_hash: str,
        execution_id: str | None = None,
        source: str | None = None,
    ) -> ExecutionState:
        """Record a new execution (``pending``) and make it active."""
        now = time.time()
        state = ExecutionState(
            execution_id=execution_id or str(uuid.uuid4()),
            blueprint=blueprint,
            blueprint_hash=blueprint_hash,
            inputs=inputs,
            config=config,
            created_at=now,
            nodes={spec.id: NodeState(spec.id) for spec in blueprint.nodes},
        )
        self._active[state.execution_id] = state
        self.store.enqueue_sql(
            "INSERT INTO executions (id, blueprint_id, blueprint_name, blueprint_hash,"
            " blueprint_json, source, inputs_json, config_json, status, created_at,"
            " owner_id, owner_pid, owner_host, lease_until)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                state.execution_id,
                blueprint.id,
                blueprint.name,
                blueprint_hash,
                dumps(blueprint.model_dump(mode="json", exclude_none=True)),
                source,
                dumps(inputs),
                dumps(config),
                state.status.value,
                now,
                self.owner_id,
                self.owner_pid,
                self.owner_host,
                now + self.lease_seconds,
            ),
        )
        self._emit(
            state,
            "execution",
            status=ExecutionStatus.PENDING,
            data={"blueprint_id": blueprint.id, "blueprint_hash": blueprint_hash},
            ts=now,
        )
        return state

    def adopt_execution(self, state: ExecutionState) -> None:
        """Make an execution loaded from the store active again (resume), taking ownership."""
        self._active[state.execution_id] = state
        now = time.time()
        self.store.enqueue_sql(
            "UPDATE executions SET owner_id = ?, owner_pid = ?, owner_host = ?, lease_until = ?,"
            " error_json = NULL, outputs_json = NULL, finished_at = NULL WHERE id = ?",
            (self.owner_id, self.owner_pid, self.owner_host, now + self.lease_seconds,
             state.execution_id),
        )

    def update_execution_state(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        error: ErrorInfo | None = None,
        outputs: Any = _MISSING,
        data: dict[str, Any] | None = None,
    ) -> Event:
        state = self.require_active(execution_id)
        now = time.time()
        state.status = status
        if status is ExecutionStatus.RUNNING and state.started_at is None:
            state.started_at = now
        if status.is_terminal:
            state.finished_at = now
            state.error = error
            if outputs is not _MISSING:
                state.outputs = outputs
        self.store.enqueue_sql(
            "UPDATE executions SET status = ?, started_at = ?, finished_at = ?, error_json = ?,"
            " outputs_json = ? WHERE id = ?",
            (
                status.value,
                state.started_at,
                state.finished_at,
                None if state.error is None else dumps(state.error.model_dump()),
                None if state.outputs is None else dumps(state.outputs),
                execution_id,
            ),
        )
        payload = dict(data or {})
        if error is not None:
            payload["error"] = error.model_dump(exclude_none=True)
        return self._emit(
            state,
            "execution",
            status=status,
            data=payload or None,
            ts=now,
            hold=status.is_terminal,
        )

    def update_node_state(
        self,
        execution_id: str,
        node_id: str,
        status: NodeStatus,
        *,
        attempt: int | None = None,
        output: Any = _MISSING,
        error: ErrorInfo | None = None,
        input: Any = _MISSING,
        port: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        """Change one node's state, record it, and emit its event.

        ``output`` is serialised now (a snapshot); large outputs are spilled to a
        file by the writer thread.
        """
        state = self.require_active(execution_id)
        node = state.nodes[node_id]
        now = time.time()
        node.status = status
        payload: dict[str, Any] | None = data
        if attempt is not None:
            node.attempts = attempt
        if status is NodeStatus.RUNNING:
            if node.started_at is None or attempt == 1:
                node.started_at = now
            node.finished_at = None
            node.error = None
            if input is not _MISSING:
                node.input = input
                node.input_json = dumps(input)
        elif status.is_terminal:
            node.finished_at = now
            node.error = error
            node.port = port
            if output is not _MISSING:
                node.output = output
                node.output_json = dumps(output)
                payload = {**(payload or {}), "output_size": len(node.output_json)}
                if port is not None:
                    payload["port"] = port
        if error is not None:
            payload = {**(payload or {}), "error": error.model_dump(exclude_none=True)}
        self._record_node(state, node)
        return self._emit(
            state, "node", node_id=node_id, status=status, attempt=attempt, data=payload, ts=now
        )

    def _record_node(self, state: ExecutionState, node: NodeState) -> None:
        output_json = node.output_json
        output_path: str | None = None
        if output_json is not None and len(output_json) > self.store.spill_bytes:
            path = self.store.spill_path(state.execution_id, node.node_id)
            self.store.enqueue_spill(path, output_json)
            output_path, output_json = str(path), None
        self.store.enqueue_sql(
            _NODE_UPSERT,
            (
                state.execution_id,
                node.node_id,
                node.status.value,
                node.attempts,
                node.started_at,
                node.finished_at,
                node.port,
                output_json,
                output_path,
                None if node.output_json is None else len(node.output_json),
                node.input_json,
                None if node.error is None else dumps(node.error.model_dump()),
            ),
        )

    def log_message(
        self, execution_id: str, node_id: str | None, message: str, level: str, **extra: Any
    ) -> Event:
        state = self.require_active(execution_id)
        return self._emit(
            state, "log", node_id=node_id, data={"level": level, "message": message, **extra}
        )

    # -- variables and checkpoints ------------------------------------------------

    def set_variable(self, execution_id: str, key: str, value: Any) -> None:
        state = self.require_active(execution_id)
        state.variables[key] = value
        self.store.enqueue_sql(
            "INSERT OR REPLACE INTO variables (execution_id, key, value_json) VALUES (?, ?, ?)",
            (execution_id, key, dumps(value)),
        )
        self._emit(state, "variable", data={"key": key})

    def get_variable(self, execution_id: str, key: str, default: Any = None) -> Any:
        state = self._active.get(execution_id)
        if state is not None:
            return state.variables.get(key, default)
        row = self.store.query_one(
            "SELECT value_json FROM variables WHERE execution_id = ? AND key = ?",
            (execution_id, key),
        )
        return default if row is None else loads(row["value_json"])

    def create_checkpoint(self, execution_id: str, name: str | None = None) -> str:
        """Snapshot completed node outputs and variables; returns the checkpoint id."""
        state = self.require_active(execution_id)
        checkpoint_id = str(uuid.uuid4())
        snapshot = {
            "nodes": {
                nid: {"status": n.status.value, "output": n.output, "port": n.port}
                for nid, n in state.nodes.items()
                if n.status is NodeStatus.COMPLETED
            },
            "variables": state.variables,
        }
        self.store.enqueue_sql(
            "INSERT INTO checkpoints (execution_id, checkpoint_id, name, created_at, data_json)"
            " VALUES (?, ?, ?, ?, ?)",
            (execution_id, checkpoint_id, name, time.time(), dumps(snapshot)),
        )
        self._emit(state, "checkpoint", data={"checkpoint_id": checkpoint_id, "name": name})
        return checkpoint_id

    def restore_checkpoint(self, execution_id: str, checkpoint_id: str) -> dict[str, Any]:
        """The snapshot of a checkpoint; applied to the execution when it is active."""
        self.store.flush_sync()
        row = self.store.query_one(
            "SELECT data_json FROM checkpoints WHERE execution_id = ? AND checkpoint_id = ?",
            (execution_id, checkpoint_id),
        )
        if row is None:
            raise ExecutionNotFoundError(
                f"no checkpoint {checkpoint_id!r} in execution {execution_id!r}",
                where="checkpoint_id",
            )
        snapshot: dict[str, Any] = loads(row["data_json"])
        state = self._active.get(execution_id)
        if state is not None:
            state.variables = dict(snapshot.get("variables", {}))
            for nid, saved in snapshot.get("nodes", {}).items():
                if nid in state.nodes:
                    node = state.nodes[nid]
                    node.status = NodeStatus(saved["status"])
                    node.output = saved.get("output")
                    node.output_json = dumps(node.output)
                    node.port = saved.get("port")
        return snapshot

    # -- getters -------------------------------------------------------------------

    def get_active(self, execution_id: str) -> ExecutionState | None:
        return self._active.get(execution_id)

    def require_active(self, execution_id: str) -> ExecutionState:
        state = self._active.get(execution_id)
        if state is None:
            raise ExecutionNotFoundError(
                f"execution {execution_id!r} is not running here", where="execution_id"
            )
        return state

    def active_ids(self) -> list[str]:
        return list(self._active)

    def get_node_state(self, execution_id: str, node_id: str) -> NodeState | None:
        state = self._active.get(execution_id)
        if state is not None:
            return state.nodes.get(node_id)
        loaded = self.load_execution(execution_id)
        return loaded.nodes.get(node_id)

    def load_execution(self, execution_id: str) -> ExecutionState:
        """An execution as recorded in the store (active ones: from memory)."""
        active = self._active.get(execution_id)
        if active is not None:
            return active
        row = self.store.query_one("SELECT * FROM executions WHERE id = ?", (execution_id,))
        if row is None:
            raise ExecutionNotFoundError(f"no execution {execution_id!r}", where="execution_id")
        blueprint = Blueprint.model_validate(loads(row["blueprint_json"]))
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
            error=None if row["error_json"] is None else ErrorInfo(**loads(row["error_json"])),
            outputs=loads(row["outputs_json"]),
            nodes={spec.id: NodeState(spec.id) for spec in blueprint.nodes},
        )
        for nrow in self.store.query(
            "SELECT * FROM node_runs WHERE execution_id = ?", (execution_id,)
        ):
            node = state.nodes.get(nrow["node_id"]) or NodeState(nrow["node_id"])
            state.nodes[node.node_id] = node
            node.status = NodeStatus(nrow["status"])
            node.attempts = nrow["attempts"]
            node.started_at = nrow["started_at"]
            node.finished_at = nrow["finished_at"]
            node.port = nrow["port"]
            node.output_json = self.store.read_output(nrow)
            node.output = loads(node.output_json)
            node.input_json = nrow["input_json"]
            node.input = loads(node.input_json)
            if nrow["error_json"] is not None:
                node.error = ErrorInfo(**loads(nrow["error_json"]))
        for vrow in self.store.query(
            "SELECT key, value_json FROM variables WHERE execution_id = ?", (execution_id,)
        ):
            state.variables[vrow["key"]] = loads(vrow["value_json"])
        state.seq = self.last_seq(execution_id)
        return state

    def last_seq(self, execution_id: str) -> int:
        state = self._active.get(execution_id)
        if state is not None:
            return state.seq
        row = self.store.query_one(
            "SELECT MAX(seq) AS seq FROM events WHERE execution_id = ?", (execution_id,)
        )
        return int(row["seq"] or 0) if row else 0

    def events_after(self, execution_id: str, after_seq: int = 0) -> list[Event]:
        """Recorded events with ``seq > after_seq``, in order."""
        state = self._active.get(execution_id)
        if state is not None:
            # seq n sits at index n-1 - first_seq_in_memory + 1; resumed runs keep only new ones.
            first = state.events[0].seq if state.events else state.seq + 1
            if after_seq + 1 >= first:
                return state.events[max(after_seq + 1 - first, 0) :]
        rows = self.store.query(
            "SELECT * FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq",
            (execution_id, after_seq),
        )
        events = [_event_from_row(r) for r in rows]
        if state is not None:
            last = events[-1].seq if events else after_seq
            events.extend(e for e in state.events if e.seq > last)
        return events

    def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        clauses, params = [], []
        if status:
            clauses.append("status = ?")
            params.append(status)
        if blueprint_id:
            clauses.append("blueprint_id = ?")
            params.append(blueprint_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.store.query(
            "SELECT id, blueprint_id, blueprint_name, status, created_at, started_at,"
            f" finished_at, error_json FROM executions {where}"
            " ORDER BY created_at DESC LIMIT ?",
            (*params, max(1, min(limit, 10_000))),
        )
        summaries = []
        for r in rows:
            active = self._active.get(r["id"])
            summaries.append(
                ExecutionSummary(
                    execution_id=r["id"],
                    blueprint_id=r["blueprint_id"],
                    blueprint_name=r["blueprint_name"],
                    status=active.status if active else ExecutionStatus(r["status"]),
                    created_at=r["created_at"],
                    started_at=active.started_at if active else r["started_at"],
                    finished_at=r["finished_at"],
                    error=None if r["error_json"] is None else ErrorInfo(**loads(r["error_json"])),
                )
            )
        return summaries


def _event_from_row(row: Any) -> Event:
    return Event(
        execution_id=row["execution_id"],
        seq=row["seq"],
        ts=row["ts"],
        kind=row["kind"],
        node_id=row["node_id"],
        status=row["status"],
        attempt=row["attempt"],
        data=loads(row["data_json"]),
    )
