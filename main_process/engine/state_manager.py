"""The state manager: one place that changes execution and node state.

It is the engine's recorder (the seed's ``StateManager`` is a facade over it). Each
change becomes an event with the execution's next gap-free ``seq`` (a resumed one
continues its log). Active executions live in memory, so the hot path touches no
disk: a :class:`RecordWriter` queues rows and events to the store's writer thread.

An execution's terminal event is *held* until the store has committed it
(:meth:`StateManager.release`): nobody hears "finished" of a run it could lose.

Subscribers are plain callables (no Qt); one that raises is logged and kept out of
the executor's way. Sequencing, delivery and subscriptions are the
:class:`~main_process.events.log.EventLog`'s. Secret values are masked
(:mod:`app.redaction`) before anything is kept, written or sent.

With no store (``store=None``) it works in memory only: the same transitions and
events, nothing written (the seed's ``StateManager()``, ``Engine(persist=False)``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from app.blueprint import Blueprint
from app.errors import CheckpointNotFoundError, ErrorInfo, ExecutionNotFoundError
from app.events import Event
from app.redaction import REDACTOR
from app.results import ExecutionSummary
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.checkpoints import apply_snapshot, take_checkpoint
from main_process.engine.execution_state import (
    Checkpoint,
    EventRow,
    ExecutionState,
    NodeState,
    event_from_row,
    summaries,
)
from main_process.engine.record_writer import MISSING, RecordWriter, encoded_output
from main_process.events.log import EventLog
from main_process.store import Store, history
from main_process.store.serialization import dumps

log = logging.getLogger(__name__)

_RUNNING = NodeStatus.RUNNING
_RETRYING = NodeStatus.RETRYING
#: A tuple, not a set: ``in`` on a tuple tests identity first and never calls the
#: (Python-level) ``Enum.__hash__``; statuses go into rows as the StrEnum members
#: themselves (they are ``str``), sparing ``.value``'s descriptor on the hot path.
_TERMINAL_NODE = tuple(s for s in NodeStatus if s.is_terminal)


class StateManager:
    """Creates, changes and records executions; the only writer of their state."""

    def __init__(
        self,
        store: Store | None,
        *,
        owner_id: str,
        owner_pid: int,
        owner_host: str,
        owner_lock: str | None = None,
    ) -> None:
        self.store = store
        self.log = EventLog(store)
        self._active = self.log.active
        self._emit = self.log.emit
        # Following events is the log's business: these are its methods.
        self.subscribe = self.log.subscribe
        self.unsubscribe = self.log.unsubscribe
        self.listen = self.log.listen
        self.unlisten = self.log.unlisten
        self.watch = self.log.watch
        self.release = self.log.release
        self.deliver_held = self.log.deliver_held
        self._writer = (
            None
            if store is None
            else RecordWriter(
                store,
                owner_id=owner_id,
                owner_pid=owner_pid,
                owner_host=owner_host,
                owner_lock=owner_lock,
            )
        )

    @property
    def memory_events(self) -> int:
        """Events an active execution keeps in memory (see :data:`MEMORY_EVENTS`)."""
        return self.log.memory_events

    @memory_events.setter
    def memory_events(self, value: int) -> None:
        self.log.memory_events = value

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
        if self._writer is not None:
            self._writer.new_execution(state, blueprint_json, source)
        data = {"blueprint_id": blueprint.id, "blueprint_hash": blueprint_hash}
        self._emit(state, "execution", None, ExecutionStatus.PENDING.value, None, data, now)
        return state

    def hold(self, state: ExecutionState) -> None:
        """Keep a stored execution in memory as is, not owned (``load_execution_states``)."""
        self._active.setdefault(state.execution_id, state)

    def adopt_execution(self, state: ExecutionState) -> None:
        """Make an execution loaded from the store active again (resume), taking ownership."""
        self._active[state.execution_id] = state
        if self._writer is not None:
            self._writer.adopted(state)

    def update_execution_state(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        error: ErrorInfo | None = None,
        outputs: Any = MISSING,
        data: dict[str, Any] | None = None,
        finished_at: float | None = None,
    ) -> None:
        """Change an execution's status. A terminal one stamps ``finished_at`` (now,
        unless given) and its event is held until the store has committed it."""
        state = self.require_active(execution_id)
        if REDACTOR.active:  # a secret's value is masked before it is kept or sent
            error, outputs, data = REDACTOR.values(error, outputs, data)
        now = time.time()
        state.status = status
        terminal = status.is_terminal
        if status is ExecutionStatus.RUNNING and state.started_at is None:
            state.started_at = now
        if finished_at is not None:
            state.finished_at = finished_at
        if terminal:
            if finished_at is None:
                state.finished_at = now
            state.error = error
            if outputs is not MISSING:
                state.outputs = outputs
        if self._writer is not None:
            self._writer.status(state, terminal)
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
        output: Any = MISSING,
        error: ErrorInfo | None = None,
        input: Any = MISSING,
        port: str | None = None,
        data: dict[str, Any] | None = None,
        hold: bool = False,
    ) -> None:
        """Change one node's state, record it, and emit its event (``hold``: deliver
        the event only once :meth:`commit_held` has seen it committed).

        A node the blueprint does not name gets its state on first use (the seed's
        state manager tracks whatever nodes it is told about). An output that is not
        JSON raises :class:`~app.json_values.NotJson` and changes nothing.
        """
        state = self._active.get(execution_id) or self.require_active(execution_id)
        if REDACTOR.active:  # a secret's value is masked before it is kept or sent
            error, output, input, data = REDACTOR.values(error, output, input, data)
        encoded = encoded_output(self._writer, state, node_id, status in _TERMINAL_NODE, output)
        node = state.nodes.get(node_id)
        if node is None:
            node = state.nodes[node_id] = NodeState(node_id)
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
            if input is not MISSING:
                node.input = input
                node.input_json = dumps(input) if self._writer is not None else None
        elif status in _TERMINAL_NODE:
            node.finished_at = now
            node.error = error
            node.port = port
            if output is not MISSING:
                node.output = output
            if self._writer is not None and self._writer.node_outcome(state, node, encoded):
                payload = {**payload} if payload else {}
                payload["output_size"] = node.output_size
            if port is not None and output is not MISSING:
                payload = {**payload} if payload else {}
                payload["port"] = port
            if error is not None:
                payload = {**payload} if payload else {}
                payload["error"] = error.model_dump(exclude_none=True)
        elif error is not None:
            if status is _RETRYING:
                node.retry_count += 1
            payload = {**payload} if payload else {}
            payload["error"] = error.model_dump(exclude_none=True)
        self._emit(state, "node", node_id, status, attempt, payload, now, hold=hold)

    async def commit_held(self, execution_id: str) -> None:
        """Wait until everything recorded for the execution so far is committed, then
        deliver its held events (group commit: see :meth:`Store.group_commit`).
        Raises :class:`~app.errors.StoreError` once the store has failed for too long."""
        store = self.store
        if store is None:
            return
        state = self.require_active(execution_id)
        seq = state.seq
        waiter = store.commit_now()
        if waiter is not None:
            await asyncio.shield(waiter)
        self.log.committed(state, seq)

    def record_node_error(self, execution_id: str, node_id: str, message: str) -> None:
        """Note an error against a node without changing its status: its ``error``
        says ``message`` and its ``retry_count`` grows by one (the seed's
        ``recordNodeError``). Its event is a node event carrying the error."""
        state = self.require_active(execution_id)
        node = state.nodes.get(node_id)
        if node is None:
            node = state.nodes[node_id] = NodeState(node_id)
        node.error = ErrorInfo(type="NodeError", message=REDACTOR.text(message), node_id=node_id)
        node.retry_count += 1
        data = {"error": node.error.model_dump(exclude_none=True)}
        self._emit(state, "node", node_id, node.status, None, data, time.time())

    def log_message(
        self, execution_id: str, node_id: str | None, message: str, level: str, **extra: Any
    ) -> None:
        state = self.require_active(execution_id)
        data = REDACTOR.value({"level": level, "message": message, **extra})
        self._emit(state, "log", node_id, None, None, data, time.time())

    # -- variables and checkpoints ------------------------------------------------

    def set_variable(self, execution_id: str, key: str, value: Any) -> None:
        state = self.require_active(execution_id)
        state.variables[key] = value
        if self._writer is not None:
            self._writer.variable(execution_id, key, value)
        self._emit(state, "variable", None, None, None, {"key": key}, time.time())

    def get_variable(self, execution_id: str, key: str, default: Any = None) -> Any:
        state = self._active.get(execution_id)
        if state is not None:
            return state.variables.get(key, default)
        if self._writer is None:
            return default
        return self._writer.stored_variable(execution_id, key, default)

    def create_checkpoint(self, execution_id: str, name: str | None = None) -> str:
        """Snapshot completed node outputs and variables; returns the checkpoint id."""
        state = self.require_active(execution_id)
        checkpoint = take_checkpoint(state, name)
        if self._writer is not None:
            self._writer.checkpoint(execution_id, checkpoint)
        data = {"checkpoint_id": checkpoint.checkpoint_id, "name": name}
        self._emit(state, "checkpoint", None, None, None, data, checkpoint.created_at)
        return checkpoint.checkpoint_id

    def checkpoints(self, execution_id: str) -> list[Checkpoint]:
        """The checkpoints taken while the execution was active here, oldest first."""
        return list(self.require_active(execution_id).checkpoints)

    def restore_checkpoint(self, execution_id: str, checkpoint_id: str) -> dict[str, Any]:
        """The snapshot of a checkpoint; applied to the execution when it is active."""
        state = self._active.get(execution_id)
        snapshot = None
        if state is not None:
            for checkpoint in state.checkpoints:
                if checkpoint.checkpoint_id == checkpoint_id:
                    snapshot = checkpoint.snapshot
        if snapshot is None and self._writer is not None:
            snapshot = self._writer.stored_checkpoint(execution_id, checkpoint_id)
        if snapshot is None:
            raise CheckpointNotFoundError(
                f"no checkpoint {checkpoint_id!r} in execution {execution_id!r}",
                where="checkpoint_id",
            )
        if state is not None:
            apply_snapshot(state, snapshot)
        return snapshot

    def forget(self, execution_id: str) -> bool:
        """Drop an execution from memory (its record stays); False if not active here."""
        return self.release(execution_id) is not None

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

    def get_execution_state(self, execution_id: str) -> ExecutionState:
        """An execution: active ones from memory, others as recorded in the store."""
        active = self._active.get(execution_id)
        if active is not None:
            return active
        if self.store is None:
            raise ExecutionNotFoundError(f"no execution {execution_id!r}", where="execution_id")
        return history.load_execution(self.store, execution_id)

    load_execution = get_execution_state

    def last_seq(self, execution_id: str) -> int:
        state = self._active.get(execution_id)
        if state is not None:
            return state.seq
        return 0 if self.store is None else history.last_seq(self.store, execution_id)

    def event_rows_after(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[EventRow]:
        """Delivered events with ``seq > after_seq`` as rows, in order, at most ``limit``."""
        state = self._active.get(execution_id)
        if state is None:
            if self.store is None:
                return []
            return history.event_rows(self.store, execution_id, after_seq, limit)
        rows = state.events
        first = rows[0][1] if rows else state.seq + 1
        if after_seq + 1 >= first or self.store is None:
            start = max(after_seq + 1 - first, 0)
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
        if self.store is None:  # an in-memory recorder: what is active is all there is
            return summaries(self._active.values(), limit, status, blueprint_id)
        return history.list_executions(
            self.store, self._active, limit=limit, status=status, blueprint_id=blueprint_id
        )
