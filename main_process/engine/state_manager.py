"""The state manager: one place that changes execution and node state.

It is the seed's StateManager in Python form. Every change goes through it, and
every change becomes an event with the execution's next ``seq`` (gap-free, from
1; a resumed execution continues where its log ended). Active executions live in
memory, so the executor's hot path touches no disk: rows and events are queued to
the :class:`~main_process.store.Store`'s writer thread.

An execution's terminal event is *held* until the engine has seen the store
commit it (:meth:`StateManager.release`): nobody hears "finished" about a run
whose record could still be lost.

Subscribers are plain callables; there is no Qt here. A subscriber that raises
is logged and kept out of the executor's way.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from app.blueprint import Blueprint
from app.errors import ErrorInfo, ExecutionNotFoundError
from app.events import Event
from app.results import ExecutionSummary
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.execution_state import (
    EventRow,
    ExecutionState,
    NodeState,
    event_from_row,
)
from main_process.events.log import EventLog
from main_process.store import Store, history
from main_process.store.chunks import NodeRow
from main_process.store.serialization import STREAM_ITEMS, dump_list_to_file, dumps

log = logging.getLogger(__name__)

_MISSING: Any = object()
_RUNNING = NodeStatus.RUNNING
_COMPLETED = NodeStatus.COMPLETED
#: A tuple, not a set: ``in`` on a tuple tests identity first and never calls the
#: (Python-level) ``Enum.__hash__``; statuses go into rows as the StrEnum members
#: themselves (they are ``str``), sparing ``.value``'s descriptor on the hot path.
_TERMINAL_NODE = tuple(s for s in NodeStatus if s.is_terminal)


class StateManager(EventLog):
    """Creates, changes and records executions; the only writer of their state."""

    def __init__(self, store: Store, *, owner_id: str, owner_pid: int, owner_host: str) -> None:
        super().__init__(store)
        self.owner_id = owner_id
        self.owner_pid = owner_pid
        self.owner_host = owner_host
        self.lease_seconds = 15.0

    # -- executions ----------------------------------------------------------------

    def initialize_execution(
        self,
        blueprint: Blueprint,
        inputs: dict[str, Any],
        config: dict[str, Any],
        *,
        blueprint_hash: str,
        blueprint_json: bytes | None = None,
        execution_id: str | None = None,
        source: str | None = None,
    ) -> ExecutionState:
        """Record a new execution (``pending``) and make it active.

        ``blueprint_json`` is :meth:`Blueprint.engine_json` when the caller already
        has it (it hashed it); the editor layout is kept beside it.
        """
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
        self.store.enqueue_execution(
            state.execution_id,
            {
                "blueprint_id": blueprint.id,
                "blueprint_name": blueprint.name,
                "blueprint_hash": blueprint_hash,
                "blueprint_json": (
                    blueprint_json if blueprint_json is not None else blueprint.engine_json()
                ),
                "ui_json": dumps(blueprint.ui.model_dump()) if blueprint.ui.positions else None,
                "source": source,
                "inputs_json": dumps(inputs),
                "config_json": dumps(config),
                "status": state.status.value,
                "created_at": now,
                "owner_id": self.owner_id,
                "owner_pid": self.owner_pid,
                "owner_host": self.owner_host,
                "lease_until": now + self.lease_seconds,
            },
            insert=True,
        )
        data = {"blueprint_id": blueprint.id, "blueprint_hash": blueprint_hash}
        self._emit(state, "execution", None, ExecutionStatus.PENDING.value, None, data, now)
        return state

    def adopt_execution(self, state: ExecutionState) -> None:
        """Make an execution loaded from the store active again (resume), taking ownership."""
        self._active[state.execution_id] = state
        now = time.time()
        self.store.enqueue_execution(
            state.execution_id,
            {
                "owner_id": self.owner_id,
                "owner_pid": self.owner_pid,
                "owner_host": self.owner_host,
                "lease_until": now + self.lease_seconds,
                "status": state.status.value,
                "error_json": None,
                "outputs_json": None,
                "finished_at": None,
            },
        )

    def update_execution_state(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        error: ErrorInfo | None = None,
        outputs: Any = _MISSING,
        data: dict[str, Any] | None = None,
    ) -> None:
        state = self.require_active(execution_id)
        now = time.time()
        state.status = status
        terminal = status.is_terminal
        if status is ExecutionStatus.RUNNING and state.started_at is None:
            state.started_at = now
        if terminal:
            state.finished_at = now
            state.error = error
            if outputs is not _MISSING:
                state.outputs = outputs
        fields: dict[str, Any] = {"status": status.value, "started_at": state.started_at}
        if terminal:
            fields["finished_at"] = state.finished_at
            fields["error_json"] = None if state.error is None else dumps(state.error.model_dump())
            fields["outputs_json"] = None if state.outputs is None else dumps(state.outputs)
        self.store.enqueue_execution(execution_id, fields)
        payload = dict(data) if data else {}
        if error is not None:
            payload["error"] = error.model_dump(exclude_none=True)
        self._emit(
            state, "execution", None, status.value, None, payload or None, now, hold=terminal
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
    ) -> None:
        """Change one node's state, record it, and emit its event.

        ``output`` is serialised now — a snapshot, since a downstream node may
        mutate the object it is handed; large outputs are spilled to a file by
        the writer thread.
        """
        state = self._active[execution_id]
        node = state.nodes[node_id]
        now = time.time()
        node.status = status
        payload = data
        if attempt is not None:
            node.attempts = attempt
        if status is _RUNNING:
            if attempt == 1 or node.started_at is None:
                node.started_at = now
            node.finished_at = None
            node.error = None
            if input is not _MISSING:
                node.input = input
                node.input_json = dumps(input)
        elif status in _TERMINAL_NODE:
            node.finished_at = now
            node.error = error
            node.port = port
            output_json: bytes | None = None
            spilled: str | None = None
            if output is not _MISSING:
                node.output = output
                if type(output) is list and len(output) > STREAM_ITEMS:
                    path = self.store.spill_path(state.execution_id, node_id)
                    node.output_size = dump_list_to_file(output, path)
                    spilled = str(path)
                else:
                    output_json = dumps(output)
                    node.output_size = len(output_json)
                payload = {**payload} if payload else {}
                payload["output_size"] = node.output_size
                if port is not None:
                    payload["port"] = port
            if error is not None:
                payload = {**payload} if payload else {}
                payload["error"] = error.model_dump(exclude_none=True)
            self._record_node(state, node, output_json, spilled)
        elif error is not None:
            payload = {**payload} if payload else {}
            payload["error"] = error.model_dump(exclude_none=True)
        self._emit(state, "node", node_id, status, attempt, payload, now)

    def _record_node(
        self,
        state: ExecutionState,
        node: NodeState,
        output_json: bytes | None,
        output_path: str | None = None,
    ) -> None:
        """Write a node's outcome row. Only terminal states get one: the event log
        already holds every transition, and the row is what resume reads."""
        if output_json is not None and len(output_json) > self.store.spill_bytes:
            path = self.store.spill_path(state.execution_id, node.node_id)
            self.store.enqueue_spill(path, output_json)
            output_path, output_json = str(path), None
        # The terminal event that follows this record gets the next seq.
        self.store.enqueue_node(
            state.execution_id,
            state.seq + 1,
            NodeRow(
                node.node_id,
                node.status,
                node.attempts,
                node.started_at,
                node.finished_at,
                node.port,
                output_json,
                output_path,
                node.output_size,
                node.input_json,
                None if node.error is None else dumps(node.error.model_dump()),
            ),
        )

    def log_message(
        self, execution_id: str, node_id: str | None, message: str, level: str, **extra: Any
    ) -> None:
        state = self.require_active(execution_id)
        data = {"level": level, "message": message, **extra}
        self._emit(state, "log", node_id, None, None, data, time.time())

    # -- variables and checkpoints ------------------------------------------------

    def set_variable(self, execution_id: str, key: str, value: Any) -> None:
        state = self.require_active(execution_id)
        state.variables[key] = value
        self.store.enqueue_variable(execution_id, key, dumps(value))
        self._emit(state, "variable", None, None, None, {"key": key}, time.time())

    def get_variable(self, execution_id: str, key: str, default: Any = None) -> Any:
        state = self._active.get(execution_id)
        if state is not None:
            return state.variables.get(key, default)
        return history.variable(self.store, execution_id, key, default)

    def create_checkpoint(self, execution_id: str, name: str | None = None) -> str:
        """Snapshot completed node outputs and variables; returns the checkpoint id."""
        state = self.require_active(execution_id)
        checkpoint_id = str(uuid.uuid4())
        snapshot = {
            "nodes": {
                nid: {"status": n.status.value, "output": n.output, "port": n.port}
                for nid, n in state.nodes.items()
                if n.status is _COMPLETED
            },
            "variables": state.variables,
        }
        now = time.time()
        self.store.enqueue_checkpoint(execution_id, checkpoint_id, name, now, dumps(snapshot))
        data = {"checkpoint_id": checkpoint_id, "name": name}
        self._emit(state, "checkpoint", None, None, None, data, now)
        return checkpoint_id

    def restore_checkpoint(self, execution_id: str, checkpoint_id: str) -> dict[str, Any]:
        """The snapshot of a checkpoint; applied to the execution when it is active."""
        self.store.flush_sync()
        snapshot = history.checkpoint(self.store, execution_id, checkpoint_id)
        if snapshot is None:
            raise ExecutionNotFoundError(
                f"no checkpoint {checkpoint_id!r} in execution {execution_id!r}",
                where="checkpoint_id",
            )
        state = self._active.get(execution_id)
        if state is not None:
            state.variables = dict(snapshot.get("variables", {}))
            for nid, saved in snapshot.get("nodes", {}).items():
                if nid in state.nodes:
                    node = state.nodes[nid]
                    node.status = NodeStatus(saved["status"])
                    node.output = saved.get("output")
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

    def get_execution_state(self, execution_id: str) -> ExecutionState:
        """An execution: active ones from memory, others as recorded in the store."""
        active = self._active.get(execution_id)
        if active is not None:
            return active
        return history.load_execution(self.store, execution_id)

    load_execution = get_execution_state

    def get_node_state(self, execution_id: str, node_id: str) -> NodeState | None:
        return self.get_execution_state(execution_id).nodes.get(node_id)

    def last_seq(self, execution_id: str) -> int:
        state = self._active.get(execution_id)
        if state is not None:
            return state.seq
        return history.last_seq(self.store, execution_id)

    def event_rows_after(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[EventRow]:
        """Delivered events with ``seq > after_seq`` as rows, in order, at most ``limit``."""
        state = self._active.get(execution_id)
        if state is None:
            return history.event_rows(self.store, execution_id, after_seq, limit)
        rows = state.events
        first = rows[0][1] if rows else state.seq + 1
        if after_seq + 1 >= first:
            start = after_seq + 1 - first
            return rows[start:] if limit is None else rows[start : start + limit]
        older = history.event_rows(self.store, execution_id, after_seq, limit)
        if limit is not None and len(older) >= limit:
            return older
        last = older[-1][1] if older else after_seq
        newer = [r for r in rows if r[1] > last]
        return older + (newer if limit is None else newer[: limit - len(older)])

    def events_after(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        """Delivered events with ``seq > after_seq``, in order, at most ``limit``."""
        return [event_from_row(r) for r in self.event_rows_after(execution_id, after_seq, limit)]

    def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        return history.list_executions(
            self.store, self._active, limit=limit, status=status, blueprint_id=blueprint_id
        )
