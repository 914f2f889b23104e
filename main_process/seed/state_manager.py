"""The seed's ``StateManager``, whole, over the engine's own recorder.

``StateManager()`` (or ``create_state_manager()``) works in memory: nothing is
written and no data dir is touched. ``StateManager(persist=True)`` records into
the store in ``$CONDUCTOR_HOME`` (else the platform data dir), and
``StateManager(store=engine.store)`` into a store already open — as the engine
records: the same rows, and events with a gap-free ``seq`` (:meth:`events`).

There is one implementation of state. Every change goes through the engine's
recorder (:class:`main_process.engine.state_manager.StateManager`); this class
adds the seed's vocabulary (``blueprint_id`` for a blueprint, checkpoints by
index, ``retry_count``), its named events with their payloads, and its errors:
an operation on an execution it does not hold raises
:class:`~app.errors.ExecutionNotFoundError` ``"Execution <id> not found"``.

It holds the executions it created or loaded (:meth:`load_execution_states`);
:meth:`clear_execution_state` forgets one from memory, while its record, if
any, stays in the store's history. Listeners are plain callables, each called
with one dict (the seed's payload, keys in snake_case); one that raises is
logged and the others still hear the event.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from app.blueprint import Blueprint
from app.errors import CheckpointNotFoundError, ConfigError, ExecutionNotFoundError
from app.events import Event
from app.paths import data_dir
from app.states import ExecutionStatus, NodeStatus
from main_process.engine import execution_state as engine
from main_process.engine.state_manager import StateManager as Recorder
from main_process.seed.views import ExecutionState, execution_view
from main_process.store import Store
from main_process.store.recovery import HOST, LIVE_OWNERS

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], Any]

#: The statuses the seed calls active (``paused`` once the engine has it).
_ACTIVE = tuple(s for s in ExecutionStatus if s.value in ("running", "paused"))
_CLEARABLE = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED)
_EXECUTION_FIELDS = ("status", "end_time")
_CONTEXT_FIELDS = (*_EXECUTION_FIELDS, "variables")


def _status(value: ExecutionStatus | str) -> ExecutionStatus:
    try:
        return ExecutionStatus(value)
    except ValueError:
        choices = ", ".join(ExecutionStatus)
        raise ConfigError(
            f"unknown execution status {value!r} ({choices})", where="status"
        ) from None


def _node_status(value: NodeStatus | str) -> NodeStatus:
    try:
        return NodeStatus(value)
    except ValueError:
        choices = ", ".join(NodeStatus)
        message = f"unknown node status {value!r} ({choices})"
        raise ConfigError(message, where="status") from None


def _given(
    updates: Mapping[str, Any] | None, fields: tuple[str, ...], **named: Any
) -> dict[str, Any]:
    """The updates asked for, by keyword or mapping (keywords win); unknown keys raise."""
    given = dict(updates or {})
    given.update({k: v for k, v in named.items() if v is not None})
    for key in given:
        if key not in fields:
            raise ConfigError(f"cannot update {key!r} (only {', '.join(fields)})", where=key)
    return given


class StateManager:
    """Execution state with the seed's API (see the module docs)."""

    def __init__(
        self,
        persist: bool = False,
        *,
        store: Store | None = None,
        home: Path | str | None = None,
    ) -> None:
        self._own_store = store is None and persist
        if self._own_store:
            store = Store(Path(home) if home is not None else data_dir())
        self.store = store
        owner_id = str(uuid.uuid4())
        #: The engine's recorder underneath: ``recorder.subscribe(fn)`` hears every
        #: recorded event (with its ``seq``) of the executions held here.
        self.recorder = Recorder(store, owner_id=owner_id, owner_pid=os.getpid(), owner_host=HOST)
        if store is not None:
            LIVE_OWNERS[owner_id] = self
        self._listeners: dict[str, list[Listener]] = {}

    @property
    def persist(self) -> bool:
        """True when changes are recorded in a store."""
        return self.store is not None

    # -- events ----------------------------------------------------------------------

    def on(self, name: str, listener: Listener) -> None:
        """Call ``listener(payload)`` on every ``name`` event (``"node:updated"``, ...)."""
        self._listeners.setdefault(name, []).append(listener)

    def off(self, name: str, listener: Listener) -> None:
        listeners = self._listeners.get(name, [])
        if listener in listeners:
            listeners.remove(listener)

    def remove_all_listeners(self, name: str | None = None) -> None:
        if name is None:
            self._listeners.clear()
        else:
            self._listeners.pop(name, None)

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        for listener in list(self._listeners.get(name, ())):
            try:
                listener(payload)
            except Exception:
                log.exception("listener for %s failed", name)

    def events(self, execution_id: str, after_seq: int = 0) -> list[Event]:
        """The recorded events of an execution after ``after_seq`` (from the store for
        one that is not held here), in ``seq`` order."""
        return self.recorder.events_after(execution_id, after_seq)

    # -- executions ------------------------------------------------------------------

    def _require(self, execution_id: str) -> engine.ExecutionState:
        state = self.recorder.get_active(execution_id)
        if state is None:
            raise ExecutionNotFoundError(
                f"Execution {execution_id} not found", where="execution_id"
            )
        return state

    def initialize_execution(self, execution_id: str, blueprint_id: str) -> None:
        """Start tracking an execution, ``pending``, of the blueprint ``blueprint_id``.

        In memory, an id already held starts over (the seed's ``Map.set``); a
        persisted manager refuses an id the store already has, whose history a new
        execution would contradict.
        """
        if self.store is not None and self._recorded(execution_id):
            message = f"Execution {execution_id} already exists"
            raise ConfigError(message, where="execution_id")
        blueprint = Blueprint(id=blueprint_id, nodes=[])
        self.recorder.initialize_execution(
            blueprint, {}, {}, blueprint_hash="", execution_id=execution_id, source="state_manager"
        )
        self.emit(
            "execution:initialized", {"execution_id": execution_id, "blueprint_id": blueprint_id}
        )

    def _recorded(self, execution_id: str) -> bool:
        if self.recorder.get_active(execution_id) is not None:
            return True
        assert self.store is not None
        self.store.flush_sync()
        return self.recorder.last_seq(execution_id) > 0

    def update_execution_state(
        self,
        execution_id: str,
        updates: Mapping[str, Any] | None = None,
        *,
        status: ExecutionStatus | str | None = None,
        end_time: datetime | None = None,
    ) -> None:
        """Set the status and/or the end time (by keyword or as a mapping of updates)."""
        given = _given(updates, _EXECUTION_FIELDS, status=status, end_time=end_time)
        self._apply(execution_id, given)
        self.emit("execution:updated", {"execution_id": execution_id, "updates": given})

    def _apply(self, execution_id: str, given: dict[str, Any]) -> None:
        state = self._require(execution_id)
        new_status = _status(given["status"]) if given.get("status") else state.status
        if "status" in given:
            given["status"] = new_status
        end = given.get("end_time")
        if end is not None and not isinstance(end, datetime):
            raise ConfigError("end_time must be a datetime", where="end_time")
        finished_at = None if end is None else end.timestamp()
        self.recorder.update_execution_state(execution_id, new_status, finished_at=finished_at)
        if new_status.is_terminal and self.store is not None:
            self.store.flush_sync()  # heard as finished only once it is recorded
            self.recorder.deliver_held(execution_id)

    def get_execution_state(self, execution_id: str) -> ExecutionState | None:
        """The execution as it is now, or None when it is not held here."""
        state = self.recorder.get_active(execution_id)
        return None if state is None else execution_view(state)

    def get_active_executions(self) -> list[ExecutionState]:
        """The executions held here that are running or paused."""
        return [
            execution_view(state)
            for state in list(self.recorder.log.active.values())
            if state.status in _ACTIVE
        ]

    # -- nodes -----------------------------------------------------------------------

    def update_node_state(self, execution_id: str, node_id: str, status: NodeStatus | str) -> None:
        """Set a node's status (its state is created on first use): ``running``
        stamps its start time, a terminal status its end time."""
        self._require(execution_id)
        checked = _node_status(status)
        self.recorder.update_node_state(execution_id, node_id, checked)
        self.emit(
            "node:updated", {"execution_id": execution_id, "node_id": node_id, "status": checked}
        )

    def record_node_error(self, execution_id: str, node_id: str, error: str) -> None:
        """Note an error against a node: ``last_error`` is set, ``retry_count`` grows."""
        self._require(execution_id)
        self.recorder.record_node_error(execution_id, node_id, error)
        self.emit("node:error", {"execution_id": execution_id, "node_id": node_id, "error": error})

    # -- variables and data ----------------------------------------------------------

    def set_variable(self, execution_id: str, key: str, value: Any) -> None:
        self._require(execution_id)
        self.recorder.set_variable(execution_id, key, value)
        self.emit("variable:set", {"execution_id": execution_id, "key": key, "value": value})

    def get_variable(self, execution_id: str, key: str) -> Any:
        """The variable's value, or None when it is not set."""
        return self._require(execution_id).variables.get(key)

    def set_data(self, execution_id: str, key: str, value: Any) -> None:
        """Set a variable, heard as ``data:set`` (the seed's context data)."""
        self._require(execution_id)
        self.recorder.set_variable(execution_id, key, value)
        self.emit("data:set", {"execution_id": execution_id, "key": key, "value": value})

    # -- checkpoints -----------------------------------------------------------------

    def create_checkpoint(self, execution_id: str, node_id: str) -> int:
        """Snapshot the variables, named by ``node_id``; returns the checkpoint's index."""
        self._require(execution_id)
        self.recorder.create_checkpoint(execution_id, node_id)
        index = len(self.recorder.checkpoints(execution_id)) - 1
        self.emit(
            "checkpoint:created",
            {"execution_id": execution_id, "node_id": node_id, "checkpoint_index": index},
        )
        return index

    def restore_checkpoint(self, execution_id: str, checkpoint_index: int) -> None:
        """Put the variables back as they were at checkpoint ``checkpoint_index``."""
        self._require(execution_id)
        checkpoints = self.recorder.checkpoints(execution_id)
        if not 0 <= checkpoint_index < len(checkpoints):
            raise CheckpointNotFoundError(
                f"Checkpoint {checkpoint_index} not found", where="checkpoint_index"
            )
        self.recorder.restore_checkpoint(execution_id, checkpoints[checkpoint_index].checkpoint_id)
        self.emit(
            "checkpoint:restored",
            {"execution_id": execution_id, "checkpoint_index": checkpoint_index},
        )

    # -- contexts --------------------------------------------------------------------

    def create_context(self, execution_id: str, blueprint_id: str) -> ExecutionState:
        """:meth:`initialize_execution`, returning the new execution's state."""
        self.initialize_execution(execution_id, blueprint_id)
        return execution_view(self._require(execution_id))

    def get_context(self, execution_id: str) -> ExecutionState | None:
        return self.get_execution_state(execution_id)

    def update_context(self, execution_id: str, updates: Mapping[str, Any]) -> None:
        """Apply ``status``, ``end_time`` and ``variables`` (set one by one) at once."""
        given = _given(updates, _CONTEXT_FIELDS)
        self._require(execution_id)
        variables = given.get("variables")
        if variables is not None and not isinstance(variables, Mapping):
            raise ConfigError("variables must be a mapping", where="variables")
        for key, value in (variables or {}).items():
            self.recorder.set_variable(execution_id, key, value)
        if given.keys() & set(_EXECUTION_FIELDS):
            self._apply(execution_id, given)
        self.emit("context:updated", {"execution_id": execution_id, "updates": given})

    # -- forgetting and loading ------------------------------------------------------

    def clear_execution_state(self, execution_id: str) -> None:
        """Forget an execution (no error when it is not held here)."""
        self.recorder.forget(execution_id)
        self.emit("execution:cleared", {"execution_id": execution_id})

    def clear_completed_executions(self) -> int:
        """Forget every completed or failed execution; returns how many."""
        done = [
            eid
            for eid, state in list(self.recorder.log.active.items())
            if state.status in _CLEARABLE
        ]
        for eid in done:
            self.recorder.forget(eid)
        return len(done)

    def load_execution_states(self, limit: int = 1000) -> int:
        """Hold the store's most recent executions (engine runs too) here; returns how
        many were loaded. In memory there is nothing to load: 0, and no event."""
        if self.store is None:
            return 0
        self.store.flush_sync()
        count = 0
        for summary in self.recorder.list_executions(limit=limit):
            if self.recorder.get_active(summary.execution_id) is None:
                self.recorder.hold(self.recorder.load_execution(summary.execution_id))
                count += 1
        self.emit("state:loaded", {"count": count})
        return count

    def shutdown(self) -> None:
        """Stop: listeners are removed and a store this manager opened is committed
        and closed. Executions held stay readable."""
        self._listeners.clear()
        if self._own_store and self.store is not None:
            self.store.close()
            self._own_store = False


def create_state_manager(persist: bool = False, *, store: Store | None = None) -> StateManager:
    """The seed's ``createStateManager(persistState)``."""
    return StateManager(persist, store=store)
