"""The executions one engine runs: a driver and an owning task each.

The engine's per-execution bookkeeping lives here and is released in the outer
``finally`` of :meth:`Runs._drive`, whatever ends the run (its outcome, a cancel,
the execution timeout, an engine shutting down, or the task being cancelled from
outside), so an execution never stays ``running`` here after its task ended, and
:meth:`Runs.wait` always gets a result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from app.errors import StoreError
from app.results import ExecutionConfig, ExecutionResult
from app.states import ExecutionStatus
from main_process.engine.blueprint_limit import GatedSlots, SlotGate
from main_process.engine.driver import ExecutionDriver
from main_process.engine.endings import CancelReason
from main_process.engine.execution_state import ExecutionState
from main_process.engine.injection import injections
from main_process.engine.limiter import Limiter
from main_process.engine.node_running import NodeEnv
from main_process.engine.plan import Plan
from main_process.engine.scope import RunScope
from main_process.engine.state_manager import StateManager
from main_process.runners.dask_runner import DaskCluster
from main_process.runners.process import ProcessPool
from main_process.secrets.template_view import SecretsView
from main_process.store import Store

#: The engine slots of a child execution that still waits for its blueprint's gate.
_UNLIMITED = Limiter(1 << 30)

log = logging.getLogger(__name__)


class Runs:
    """Drivers by execution id, the tasks that own them, the execution slots
    (``max_executions``) and the engine-wide limit on nodes at once
    (``global_concurrency``); ``concurrency`` is a parallel execution's default."""

    def __init__(
        self,
        states: StateManager,
        *,
        concurrency: int,
        global_concurrency: int,
        max_executions: int,
        thread_pool: Executor,
        process_pool: ProcessPool | None,
        base_dir: Path,
        dask_scheduler: str | None = None,
        file_roots: tuple[Path, ...],
        secrets: SecretsView | None = None,
    ) -> None:
        self.store: Store | None = states.store
        self.states = states
        self.concurrency = concurrency
        self.slots = Limiter(max_executions)
        self.node_limit = Limiter(global_concurrency)
        self._thread_pool = thread_pool
        self._process_pool = process_pool
        #: ``runner: dask``'s cluster: ``dask_scheduler``, else ``$CONDUCTOR_DASK_SCHEDULER``
        #: (None: neither; such nodes are then validation problems). Closed by :meth:`shut_down`.
        self.dask = DaskCluster.configured(dask_scheduler)
        self._base_dir = base_dir
        self._file_roots = file_roots
        self._secrets = secrets
        self._drivers: dict[str, ExecutionDriver] = {}
        #: What ``blueprint.call``/``loop`` nodes start child runs through (the engine's).
        self.subflows: Any = None
        self._tasks: dict[str, asyncio.Task[ExecutionResult]] = {}
        #: Starts the error handler a failed execution owes, once its failure is
        #: committed (see :mod:`main_process.engine.error_handlers`).
        self.on_failed: Callable[[ExecutionState], Awaitable[object]] | None = None
        self.closing = False

    def __contains__(self, execution_id: object) -> bool:
        return execution_id in self._drivers

    def __len__(self) -> int:
        return len(self._drivers)

    def get(self, execution_id: str) -> ExecutionDriver | None:
        return self._drivers.get(execution_id)

    def launch(
        self,
        plan: Plan,
        state: ExecutionState,
        cfg: ExecutionConfig,
        *,
        scope: RunScope | None = None,
        resumed: bool = False,
        child: bool = False,
        gate: SlotGate | None = None,
    ) -> ExecutionDriver:
        """Start driving one execution on the running loop (a ``child`` execution runs
        under its parent's slot: it takes none of its own)."""
        env = NodeEnv(
            states=self.states,
            state=state,
            global_limit=self.node_limit,
            thread_pool=self._thread_pool,
            base_dir=self._base_dir,
            file_roots=self._file_roots,
            process_pool=self._process_pool,
            dask=self.dask,
            debug=cfg.debug_mode,
            resumed=resumed,
            inject=injections(cfg),
            subflows=self.subflows,
            secrets=self._secrets,
        )
        driver = ExecutionDriver(
            plan,
            env,
            concurrency=1 if not cfg.parallel else (cfg.concurrency or self.concurrency),
            slots=self._slots_for(child, gate),
            scope=scope,
        )
        eid = driver.execution_id
        self._drivers[eid] = driver
        task = asyncio.get_running_loop().create_task(self._drive(driver, cfg.timeout, gate))
        self._tasks[eid] = task
        return driver

    def _slots_for(self, child: bool, gate: SlotGate | None) -> Limiter | GatedSlots | None:
        """A child execution takes no engine slot (it runs under its parent's); a
        blueprint with a concurrency limit waits for its gate first."""
        slots = None if child else self.slots
        if gate is None:
            return slots
        return GatedSlots(gate, _UNLIMITED if slots is None else slots)

    async def _drive(
        self, driver: ExecutionDriver, timeout: float | None, gate: SlotGate | None
    ) -> ExecutionResult:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout, driver.cancel, CancelReason.TIMEOUT) if timeout else None
        eid = driver.execution_id
        try:
            try:
                state = await driver.run()
            finally:
                if timer is not None:
                    timer.cancel()
                self._drivers.pop(eid, None)
                if gate is not None:  # before the terminal event is delivered (on commit)
                    gate.release()
            try:
                if self.store is not None:
                    await self.store.flush()
            except StoreError as exc:
                # The run finished but its record may not be on disk: say so instead of
                # reporting a result that a restart could contradict.
                log.error("could not commit execution %s: %s", eid, exc)
                raise StoreError(
                    f"execution {eid!r} finished ({state.status}) but the store could not "
                    f"record it: {exc.message}",
                    where=exc.where,
                ) from exc
            error = state.error
            if error is not None and error.type == StoreError.type_name:
                # Nodes could not be recorded: the caller gets the typed error, not a
                # failed result that looks like a node's doing.
                raise StoreError(
                    f"execution {eid!r} ended: the store could not record it: {error.message}",
                    where=error.where,
                )
            owed = state.error_handler_execution is not None and not self.closing
            if owed and self.on_failed is not None and state.status is ExecutionStatus.FAILED:
                await self.on_failed(state)
        finally:
            self.states.release(eid)
            self._tasks.pop(eid, None)
        return state.to_result()

    async def wait(self, execution_id: str) -> ExecutionResult | None:
        """The result of an execution run here, once it ends; None when it is not run
        here, or its task was cancelled from outside (its record says how it ended)."""
        task = self._tasks.get(execution_id)
        if task is None or task is asyncio.current_task():  # never wait for oneself
            return None
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not task.cancelled() or (current is not None and current.cancelling()):
                raise  # the caller is cancelled, not the run
        return None

    def queue_position(self, execution_id: str) -> int | None:
        """1 for the next execution to start, ...; None when not waiting."""
        position = 0
        for eid, driver in self._drivers.items():
            if driver.queued:
                position += 1
                if eid == execution_id:
                    return position
        return None

    async def shut_down(self) -> None:
        """Stop every run (``interrupted``; paused ones stay ``paused``) and wait."""
        self.closing = True
        for driver in list(self._drivers.values()):
            driver.cancel(CancelReason.SHUTDOWN)
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.dask is not None:  # no node is left to use it
            await self.dask.close()
