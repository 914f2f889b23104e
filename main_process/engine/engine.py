"""The engine: one object that owns the registry, store, state manager and runs.

Every transport ends here. ``DirectTransport`` calls it in-process; the pipe
worker and the HTTP server call the same methods on their own engine. All
methods are coroutines on one asyncio loop; blocking work (node functions on the
``thread`` runner, SQLite commits) happens on threads; nodes on the ``process``
runner run in up to ``max_processes`` worker processes, killed at their timeout.

Ownership: each engine has an owner id and renews a lease on the executions it
runs, so another process sharing the data dir can tell a live run from one whose
process died (see :mod:`main_process.store.recovery`). On start, executions left
``running`` by dead owners are marked ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.blueprint import Blueprint, as_blueprint
from app.errors import (
    ConfigError,
    EngineClosedError,
    ExecutionNotFoundError,
    ResumeError,
    StoreError,
)
from app.paths import data_dir
from app.results import (
    ExecutionConfig,
    ExecutionResult,
)
from app.transport import BlueprintArg
from main_process import faults
from main_process.engine.blueprints import BlueprintMethods, code_node_types
from main_process.engine.execution_state import ExecutionState
from main_process.engine.executor import ExecutionRun
from main_process.engine.inputs import resolve_inputs
from main_process.engine.limiter import Limiter
from main_process.engine.plan import Plan, PlanCache
from main_process.engine.records import RecordMethods
from main_process.engine.resume import (
    current_blueprint,
    ensure_resumable,
    reusable_outputs,
    take_recorded_outcomes,
)
from main_process.engine.state_manager import StateManager
from main_process.file_roots import resolve_roots
from main_process.library import BlueprintLibrary
from main_process.nodes.registry import NodeRegistry, default_registry
from main_process.runners.process import ProcessPool
from main_process.runners.threads import NodeThreadPool
from main_process.store import Store
from main_process.store.recovery import HOST, LIVE_OWNERS, recover_orphans, renew_leases

log = logging.getLogger(__name__)

LEASE_RENEW_SECONDS = 5.0


class Engine(BlueprintMethods, RecordMethods):
    """Runs blueprints and answers every question about them.

    ``file_roots`` bound the files ``file.*``/``sqlite.*`` nodes may use (default:
    ``base_dir`` and the user's home, see :mod:`main_process.file_roots`);
    ``allow_code_nodes=False`` refuses blueprints with node types that run code, as
    invalid, before anything starts (``conductor serve --no-code-nodes``).
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        registry: NodeRegistry | None = None,
        concurrency: int = 64,
        global_concurrency: int = 256,
        max_executions: int = 32,
        max_threads: int = 32,
        max_processes: int = 4,
        base_dir: Path | None = None,
        plugins: bool = True,
        file_roots: Iterable[Path | str] | None = None,
        allow_code_nodes: bool = True,
    ) -> None:
        self.home = Path(home) if home is not None else data_dir()
        self.store = Store(self.home)
        self.registry = registry if registry is not None else default_registry(plugins=plugins)
        self.owner_id = str(uuid.uuid4())
        LIVE_OWNERS[self.owner_id] = self
        self.states = StateManager(
            self.store, owner_id=self.owner_id, owner_pid=os.getpid(), owner_host=HOST
        )
        self.library = BlueprintLibrary(self.home)
        self.concurrency = concurrency
        self.global_concurrency = global_concurrency
        self.max_executions = max_executions
        self.base_dir = base_dir or Path.cwd()
        self.file_roots = resolve_roots(file_roots, self.base_dir)
        self.allow_code_nodes = allow_code_nodes
        self.disabled_types = {} if allow_code_nodes else code_node_types(self.registry)
        self.recovered = recover_orphans(self.store, self.owner_id)
        self._pool = NodeThreadPool(max_threads, name="conductor-node")
        self.processes = ProcessPool(max_processes)
        self._plans = PlanCache(self.registry, disabled_types=self.disabled_types)
        self._runs: dict[str, ExecutionRun] = {}
        self._tasks: dict[str, asyncio.Task[ExecutionResult]] = {}
        self._limit: Limiter | None = None
        self._slots = Limiter(max_executions)
        self._lease_task: asyncio.Task[None] | None = None
        self._closed = False

    # -- blueprints ----------------------------------------------------------------

    def _blueprint(self, blueprint_id: str | None, blueprint: BlueprintArg | None) -> Blueprint:
        if blueprint is not None:
            return as_blueprint(blueprint)
        if blueprint_id is None:
            raise ConfigError("give exactly one of blueprint_id and blueprint", where="blueprint")
        return self.library.load(blueprint_id)

    def plan_for(self, blueprint: Blueprint, engine_json: bytes | None = None) -> Plan:
        """The compiled plan, from the cache when this exact content ran before."""
        return self._plans.get(blueprint, engine_json)

    # -- running -------------------------------------------------------------------

    def _ensure_loop_parts(self) -> None:
        if self._closed:
            raise EngineClosedError("the engine is closed; it takes no new work")
        if self._limit is None:
            self._limit = Limiter(self.global_concurrency)
        if self._lease_task is None or self._lease_task.done():
            self._lease_task = asyncio.get_running_loop().create_task(self._renew_leases())

    async def start(
        self,
        *,
        blueprint_id: str | None = None,
        blueprint: BlueprintArg | None = None,
        inputs: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        durable: bool = True,
    ) -> str:
        """Check everything, record the execution, start it, and return its id.

        The id is returned only once the execution's record is committed, so an id a
        caller holds always names an execution that survives a crash (it would be
        ``interrupted``, and resumable). ``execute`` skips that wait: its caller
        learns the id only with the result, which is committed by then.
        """
        self._ensure_loop_parts()
        model = self._blueprint(blueprint_id, blueprint)
        cfg = ExecutionConfig.model_validate(config or {})
        engine_json = model.engine_json()
        plan = self.plan_for(model, engine_json)
        resolved = resolve_inputs(model, inputs or {})
        reused: tuple[str, dict[str, tuple[Any, str | None]]] | None = None
        if cfg.start_at is not None:
            reused = await self._reusable(model, cfg)
        state = self.states.initialize_execution(
            model,
            resolved,
            cfg.model_dump(exclude_defaults=True),
            blueprint_hash=plan.blueprint_hash,
            blueprint_json=engine_json,
            source="id" if blueprint is None else "inline",
        )
        if reused is None:
            self._launch(plan, state, cfg, completed=None)
        else:
            self._launch(plan, state, cfg, completed=reused[1], reused_from=reused[0])
        if durable:
            await self.store.flush()
        return state.execution_id

    async def _reusable(
        self, model: Blueprint, cfg: ExecutionConfig
    ) -> tuple[str, dict[str, tuple[Any, str | None]]]:
        """For a run from ``cfg.start_at``: the execution reused and what it provides."""
        source = cfg.reuse_from
        if source is None:
            await self.store.flush()
        elif source in self._runs:
            raise ConfigError(f"execution {source!r} is still running", where="config.reuse_from")
        return reusable_outputs(self.states, model, cfg.start_at, source)

    def _launch(
        self,
        plan: Plan,
        state: ExecutionState,
        cfg: ExecutionConfig,
        completed: dict[str, tuple[Any, str | None]] | None,
        reused_from: str | None = None,
    ) -> None:
        assert self._limit is not None
        concurrency = 1 if not cfg.parallel else (cfg.concurrency or self.concurrency)
        run = ExecutionRun(
            plan,
            self.states,
            state,
            concurrency=concurrency,
            global_limit=self._limit,
            thread_pool=self._pool,
            process_pool=self.processes,
            base_dir=self.base_dir,
            file_roots=self.file_roots,
            debug=cfg.debug_mode,
            completed=completed,
            reused_from=reused_from,
            slots=self._slots,
        )
        eid = state.execution_id
        self._runs[eid] = run
        task = asyncio.get_running_loop().create_task(self._drive(run, cfg.timeout))
        self._tasks[eid] = task

    async def _drive(self, run: ExecutionRun, timeout: float | None) -> ExecutionResult:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout, run.cancel, "timeout") if timeout else None
        eid = run.execution_id
        try:
            state = await run.run()
        finally:
            if timer is not None:
                timer.cancel()
            self._runs.pop(eid, None)
        try:
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
        finally:
            self.states.release(eid)
            self._tasks.pop(eid, None)
        return state.to_result()

    async def execute(
        self,
        *,
        blueprint_id: str | None = None,
        blueprint: BlueprintArg | None = None,
        inputs: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        eid = await self.start(
            blueprint_id=blueprint_id,
            blueprint=blueprint,
            inputs=inputs,
            config=config,
            durable=False,
        )
        return await self.wait(eid)

    async def wait(self, execution_id: str) -> ExecutionResult:
        task = self._tasks.get(execution_id)
        if task is not None:
            return await asyncio.shield(task)
        result = await self.get_execution(execution_id)
        if not result.status.is_terminal:
            raise ExecutionNotFoundError(
                f"execution {execution_id!r} is running in another process", where="execution_id"
            )
        return result

    async def cancel(self, execution_id: str) -> bool:
        run = self._runs.get(execution_id)
        if run is not None:
            return run.cancel("user")
        await self.get_execution(execution_id)  # raises when unknown
        return False

    async def pause(self, execution_id: str) -> bool:
        return False  # placeholder, replaced by the engine's pause

    def queue_position(self, execution_id: str) -> int | None:
        """1 for the next execution to start, ...; None when not waiting."""
        position = 0
        for eid, run in self._runs.items():
            if run.queued:
                position += 1
                if eid == execution_id:
                    return position
        return None

    async def get_execution(self, execution_id: str) -> ExecutionResult:
        state = self.states.get_active(execution_id)
        if state is not None:
            result = state.to_result()
            result.queue_position = self.queue_position(execution_id)
            return result
        recover_orphans(self.store, self.owner_id, only=execution_id)
        return self.states.load_execution(execution_id).to_result()

    # -- resume --------------------------------------------------------------------

    async def resume(self, execution_id: str, *, wait: bool = True) -> ExecutionResult:
        """Re-run the nodes of an unfinished execution that have no recorded completion."""
        self._ensure_loop_parts()
        if execution_id in self._runs:
            raise ResumeError(f"execution {execution_id!r} is still running", where="execution_id")
        await self.store.flush()
        recover_orphans(self.store, self.owner_id, only=execution_id)
        state = self.states.load_execution(execution_id)
        ensure_resumable(state)
        current = current_blueprint(
            self.store, self.library, self._plans.recent_blueprints(), state
        )
        plan = self.plan_for(current)
        completed = take_recorded_outcomes(state)
        state.blueprint = plan.blueprint
        self.states.adopt_execution(state)
        faults.fault_point("resume.before_run")
        self._launch(plan, state, ExecutionConfig.model_validate(state.config), completed)
        self._runs[execution_id].resumed = True
        if not wait:
            return state.to_result()
        return await self.wait(execution_id)

    # -- housekeeping --------------------------------------------------------------

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            if self._runs:
                renew_leases(self.store, self.owner_id, self.states.lease_seconds)

    async def close(self) -> None:
        """Stop running executions (they end ``interrupted``), commit, and close the store."""
        if self._closed:
            return
        for run in list(self._runs.values()):
            run.cancel("shutdown")
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
        self._closed = True
        self.store.close()
        self._pool.shutdown(wait=False, cancel_futures=True)  # stuck threads are not waited for
        await self.processes.close()
        LIVE_OWNERS.pop(self.owner_id, None)
