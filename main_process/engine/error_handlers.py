"""Error handlers: a failed execution starts its blueprint's ``error_handler``.

When an execution of a blueprint naming ``error_handler`` ends ``failed`` (a node's
failure, the execution's own timeout, a broken run), the handler blueprint runs as
its own execution with the failure as its input::

    {"execution_id", "blueprint_id", "node_id", "error": {"type", "message"}, "inputs"}

(a handler declaring ``inputs`` gets only the keys it declares, a ``None`` left to
the input's default). A ``cancelled``
execution starts none, nor does an ``interrupted`` one: it is resumable, and only if
its resume fails does the handler start. A handler execution that fails starts no
handler (no loops). Pins are never used by a handler run.

**Exactly once.** The handler execution's id is decided just before the failure is
recorded, and written in the same row update (:func:`assign_handler`,
``error_handler_execution``): the failure and the debt are durable together. Once
that is committed, the owner starts the handler with that id
(:meth:`ErrorHandlers.start`); the handler's own row is the proof it started, and a
start finding it does nothing. If the owner dies in between, the debt stays in the
store; a later engine on the data dir finds it (:meth:`ErrorHandlers.sweep`, at its
start and when the execution is read), takes the failed row over with a conditional
update (one process wins) and starts it. A resume of the failed execution keeps the
recorded id, so a second failure never starts a second handler.

If the handler cannot be started (its blueprint was deleted since, its inputs do
not fit), that is logged and the debt stays: a later sweep, in another engine,
tries again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

from app.blueprint import Blueprint
from app.errors import ConductorError, Problem, StoreError
from app.results import ExecutionConfig
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.execution_state import ExecutionState
from main_process.engine.inputs import resolve_inputs
from main_process.engine.scope import run_scope
from main_process.store.handlers import claim_owed, execution_exists, owed_handlers

if TYPE_CHECKING:
    from main_process.engine.engine import Engine
    from main_process.library import BlueprintLibrary

log = logging.getLogger(__name__)


def assign_handler(state: ExecutionState, status: ExecutionStatus) -> dict[str, Any] | None:
    """Decide the handler execution's id of an execution about to be recorded with
    ``status``, when it is owed one (its record then carries it); returns the
    terminal event's data naming it (so a live monitor shows the link), or None."""
    if (
        status is ExecutionStatus.FAILED
        and state.blueprint.error_handler
        and state.handler_for is None
        and state.error_handler_execution is None
    ):
        state.error_handler_execution = str(uuid.uuid4())
    if status is ExecutionStatus.FAILED and state.error_handler_execution is not None:
        return {"error_handler_execution": state.error_handler_execution}
    return None


def handler_problems(blueprint: Blueprint, library: BlueprintLibrary) -> list[Problem]:
    """An ``error_handler`` naming no blueprint of the library, as a typed problem."""
    name = blueprint.error_handler
    if not name:
        return []
    try:
        found = library.find(name)
    except ConductorError:  # not even a valid id
        found = None
    if found is not None:
        return []
    message = f"error_handler {name!r} names no blueprint in the library"
    return [Problem(where="error_handler", message=message, code="error_handler")]


def failure_record(state: ExecutionState) -> dict[str, Any]:
    """What a handler is given about the failed execution ``state``."""
    error = state.error
    node_id = error.node_id if error is not None else None
    if node_id is None:
        failed = [nid for nid, node in state.nodes.items() if node.status is NodeStatus.FAILED]
        node_id = failed[0] if failed else None
    return {
        "execution_id": state.execution_id,
        "blueprint_id": state.blueprint.id,
        "node_id": node_id,
        "error": None if error is None else {"type": error.type, "message": error.message},
        "inputs": state.inputs,
    }


def handler_inputs(handler: Blueprint, failure: dict[str, Any]) -> dict[str, Any]:
    """The failure as ``handler``'s inputs: all of it, or the keys it declares."""
    if not handler.inputs:
        return failure
    # A missing value (no failed node) leaves the declared input to its default.
    return {
        name: value
        for name, value in failure.items()
        if name in handler.inputs and value is not None
    }


class ErrorHandlers:
    """Starts the handlers failed executions owe (a part of the engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._swept = False
        self._boot: asyncio.Task[None] | None = None

    def sweep_soon(self) -> None:
        """At a server's or worker's start: start the handlers owed by failed runs of
        dead owners now, not at the first start, list or read of an execution."""

        async def sweep() -> None:
            try:
                await self.sweep()
            except Exception:  # the engine closing meanwhile, a store fault: logged
                log.exception("cannot start the error handlers owed at start-up")

        self._boot = asyncio.get_running_loop().create_task(sweep())

    async def start(self, failed: ExecutionState) -> str | None:
        """Start the handler ``failed`` owes unless it has started; its id, or None."""
        handler_id = failed.error_handler_execution
        name = failed.blueprint.error_handler
        if handler_id is None or name is None or failed.status is not ExecutionStatus.FAILED:
            return None
        try:
            return await self._start(failed, name, handler_id)
        except Exception:  # never let a handler's start change how the failed run ends
            log.exception("cannot start error handler %r of %s", name, failed.execution_id)
            return None

    async def _start(self, failed: ExecutionState, name: str, handler_id: str) -> str | None:
        engine = self.engine
        store = engine.store
        if engine.states.get_active(handler_id) is not None:
            return handler_id  # started here already
        if store is not None and await asyncio.to_thread(execution_exists, store, handler_id):
            return handler_id  # its record is the proof it started
        try:
            engine._ensure_loop_parts()
            model = await engine.blueprint_ops.resolve(name, None)
            engine_json = model.engine_json()
            plan = await engine.blueprint_ops.plan_off_loop(model, engine_json)
            inputs = resolve_inputs(model, handler_inputs(model, failure_record(failed)))
            cfg = ExecutionConfig()
            scope = await run_scope(engine.states, store, engine.runs, model, cfg)
        except ConductorError as exc:
            log.error("cannot start error handler %r of %s: %s", name, failed.execution_id, exc)
            return None
        state = engine.states.initialize_execution(
            model,
            inputs,
            {},
            blueprint_hash=plan.blueprint_hash,
            blueprint_json=engine_json,
            execution_id=handler_id,
            source="id",
        )
        state.handler_for = failed.execution_id
        if store is not None:
            store.enqueue_execution(handler_id, {"handler_for": failed.execution_id})
        engine.runs.launch(plan, state, cfg, scope=scope)
        if store is not None:
            await store.flush()
        return handler_id

    async def sweep(self, only: str | None = None) -> list[str]:
        """Start the handlers owed by failed executions whose owner is gone (all of
        them once per engine, or just ``only``'s); returns the handlers started."""
        store = self.engine.store
        if store is None or store.read_only or (only is None and self._swept):
            return []
        if only is None:
            self._swept = True
        engine = self.engine
        started = []
        try:
            found = await asyncio.to_thread(owed_handlers, store, engine.owner_id, only)
        except StoreError as exc:  # reading must not depend on it: a later sweep retries
            log.warning("cannot look for owed error handlers: %s", exc)
            return []
        for owed in found:
            try:
                if not await asyncio.to_thread(claim_owed, store, owed, engine.owner_fields):
                    continue  # another process took it over
            except StoreError as exc:
                log.warning("cannot take over %s's error handler: %s", owed.owner.id, exc)
                continue
            failed = await asyncio.to_thread(engine.states.load_execution, owed.owner.id)
            handler_id = await self.start(failed)
            if handler_id is not None:
                started.append(handler_id)
        return started
