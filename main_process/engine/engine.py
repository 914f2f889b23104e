"""The engine: one object that owns the registry, store, state manager and runs.

Every transport ends here: ``DirectTransport`` in-process, the pipe worker and the
HTTP server on their own engine. All methods are coroutines on one asyncio loop;
blocking work (``thread`` runner nodes, SQLite commits) happens on threads; ``process``
runner nodes run in up to ``max_processes`` worker processes, killed at their timeout.

Shape: the engine holds parts and delegates to them: blueprint and node type
operations (:class:`~main_process.engine.blueprints.BlueprintOps`), the read side
(:class:`~main_process.engine.records.Records`) and the executions it runs
(:class:`~main_process.engine.runs.Runs`, one driver each).

Ownership: each engine holds, for its whole life, a lock the OS drops when its
process dies (:mod:`main_process.store.owner_lock`); other processes tell a live run
from a dead one by it, never by a clock, so a blocked loop looks alive. On start,
executions left ``running`` by dead owners are marked ``interrupted``; ``paused``
ones stay paused, and :meth:`Engine.resume` takes them over once their owner is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from app.blueprint import Blueprint
from app.errors import (
    ConductorError,
    EngineClosedError,
    ExecutionNotFoundError,
    Problem,
    ResumeError,
)
from app.events import Event
from app.paths import data_dir
from app.results import (
    BlueprintSummary,
    ExecutionConfig,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
)
from app.transport import BlueprintArg
from main_process.engine.blueprint_limit import BlueprintLimits
from main_process.engine.blueprints import BlueprintOps, code_node_types
from main_process.engine.control_watch import ControlWatcher, ask_owner
from main_process.engine.endings import CancelReason
from main_process.engine.error_handlers import ErrorHandlers
from main_process.engine.inputs import resolve_inputs
from main_process.engine.records import Records
from main_process.engine.resuming import resume_recorded
from main_process.engine.runs import Runs
from main_process.engine.scope import run_scope, with_pins
from main_process.engine.secret_ops import SecretOps
from main_process.engine.state_manager import StateManager
from main_process.engine.subflows import Subflows
from main_process.events.cursor import EventCursor
from main_process.file_roots import resolve_roots
from main_process.heap import freeze_startup_heap
from main_process.library import BlueprintLibrary
from main_process.nodes.registry import NodeRegistry, default_registry
from main_process.runners.process import ProcessPool
from main_process.runners.threads import NodeThreadPool
from main_process.store import Store
from main_process.store.control import ControlAction
from main_process.store.owner_lock import owner_identity
from main_process.store.recovery import LIVE_OWNERS, recover_orphans
from main_process.store.slots import Owner
from main_process.store.subflows import link_parent
from main_process.triggers.operations import TriggerOps


class Engine:
    """Runs blueprints and answers every question about them.

    ``file_roots`` bound the files ``file.*``/``sqlite.*`` nodes may use (default:
    ``base_dir`` and the user's home, :mod:`main_process.file_roots`);
    ``allow_code_nodes=False`` refuses blueprints with node types that run code
    (``conductor serve --no-code-nodes``). ``persist=False`` records nothing (no
    store, nothing in the data dir): an execution is known only while it runs (the
    seed's ``SimpleExecutor``), and nothing can be resumed.
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
        persist: bool = True,
        dask_scheduler: str | None = None,
    ) -> None:
        self.home = Path(home) if home is not None else data_dir()
        self.store: Store | None = Store(self.home) if persist else None
        self.registry = registry if registry is not None else default_registry(plugins=plugins)
        self.owner_id = str(uuid.uuid4())
        LIVE_OWNERS[self.owner_id] = self
        #: ``owner_lock``, held until :meth:`close`, tells other processes this engine
        #: is alive; ``owner_fields``: this engine as an execution row's owner.
        self.owner_lock, self.owner_fields = owner_identity(self.home, self.store, self.owner_id)
        self.states = StateManager(self.store, **self.owner_fields)
        self.library = BlueprintLibrary(self.home)
        self.concurrency = concurrency
        self.global_concurrency = global_concurrency
        self.max_executions = max_executions
        self.base_dir = base_dir or Path.cwd()
        self.file_roots = resolve_roots(file_roots, self.base_dir)
        self.allow_code_nodes = allow_code_nodes
        self.disabled_types = {} if allow_code_nodes else code_node_types(self.registry)
        # Synchronous start-up, like opening the store: "a dead owner's executions are
        # interrupted on start" holds before the engine answers anything.
        self.recovered = [] if self.store is None else recover_orphans(self.store, self.owner_id)
        self._pool = NodeThreadPool(max_threads, name="conductor-node")
        self.processes = ProcessPool(max_processes)
        self.blueprint_ops = BlueprintOps(self.registry, self.library, self.disabled_types)
        self.secrets = SecretOps(self.home)
        self.records = Records(self.store, self.states, self.get_execution)
        self.limits = BlueprintLimits(
            self.store, Owner(self.owner_id, self.owner_fields["owner_lock"])
        )
        self.runs = Runs(
            self.states,
            concurrency=concurrency,
            global_concurrency=global_concurrency,
            max_executions=max_executions,
            thread_pool=self._pool,
            process_pool=self.processes,
            dask_scheduler=dask_scheduler,  # else $CONDUCTOR_DASK_SCHEDULER; see runs.py
            base_dir=self.base_dir,
            file_roots=self.file_roots,
            secrets=self.secrets.view,
        )
        self.blueprint_ops.dask = self.runs.dask is not None  # runner dask is valid here
        self.subflows = Subflows(self)
        self.runs.subflows = self.subflows
        self._control = (
            None
            if self.store is None
            else ControlWatcher(
                self.store,
                self.owner_id,
                runs=self.runs,
                cancel=self.cancel,
                pause=self.pause,
                resume=functools.partial(self.resume, wait=False),
            )
        )
        #: Trigger operations; ``serve`` and the app's worker also start its runtime.
        self.triggers = TriggerOps(self)
        self.handlers = ErrorHandlers(self)
        self.runs.on_failed = self.handlers.start
        self._closed = False
        freeze_startup_heap()  # see there: full collections then skip all of the above

    # -- running -------------------------------------------------------------------

    def _ensure_loop_parts(self) -> None:
        if self._closed:
            raise EngineClosedError("the engine is closed; it takes no new work")
        if self.store is not None and self._control is not None:  # both or neither
            self.store.check_writable("run or resume an execution")
            self._control.ensure_running()

    async def start(
        self,
        *,
        blueprint_id: str | None = None,
        blueprint: BlueprintArg | None = None,
        inputs: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        durable: bool = True,
        parent: tuple[str, str] | None = None,
    ) -> str:
        """Check everything, record the execution, start it, and return its id.

        The id is returned only once the execution's record is committed, so an id a
        caller holds always names an execution that survives a crash (it would be
        ``interrupted``, and resumable). ``execute`` skips that wait: its caller
        learns the id only with the result, which is committed by then. ``parent``
        (execution, node): a ``blueprint.call`` child, linked and run under its
        parent's slot (see :mod:`main_process.engine.subflows`).
        """
        self._ensure_loop_parts()
        model = await self.blueprint_ops.resolve(blueprint_id, blueprint)
        await self.handlers.sweep()
        self.blueprint_ops.check_handler(model)
        cfg = ExecutionConfig.model_validate(config or {})
        engine_json = model.engine_json()
        plan = await self.blueprint_ops.plan_off_loop(model, engine_json)
        await self.blueprint_ops.check_subflows(model)
        await self.secrets.check(model, engine_json)
        resolved = resolve_inputs(model, {} if inputs is None else inputs)
        cfg = with_pins(model, cfg)
        scope = await run_scope(self.states, self.store, self.runs, model, cfg)
        eid = str(uuid.uuid4())
        gate = await self.limits.enter(model, eid, self.cancel)  # blueprint's concurrency
        try:
            state = self.states.initialize_execution(
                model,
                resolved,
                cfg.model_dump(exclude_defaults=True),
                blueprint_hash=plan.blueprint_hash,
                blueprint_json=engine_json,
                execution_id=eid,
                source="id" if blueprint is None else "inline",
            )
            if parent is not None:
                state.parent = parent
                if self.store is not None:
                    link_parent(self.store, eid, *parent)
            self.runs.launch(plan, state, cfg, scope=scope, gate=gate, child=parent is not None)
        except BaseException:
            if gate is not None:
                gate.release()
            raise
        if durable and self.store is not None:
            await self.store.flush()
        return state.execution_id

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
        """The execution's result once it is terminal (a paused one keeps waiting)."""
        result = await self.runs.wait(execution_id)
        if result is not None:
            return result
        if self.store is not None:
            await self.store.flush()  # a run whose task was cancelled: read its last record
        result = await self.get_execution(execution_id)
        if not result.status.is_terminal:
            raise ExecutionNotFoundError(
                f"execution {execution_id!r} is running in another process", where="execution_id"
            )
        return result

    async def cancel(self, execution_id: str) -> bool:
        """Stop a running, pending or paused execution (it ends ``cancelled``); False
        when it has finished or is finishing. One that another live process runs is
        asked through the store (True: the request is recorded for its owner)."""
        driver = self.runs.get(execution_id)
        if driver is not None:
            return driver.cancel(CancelReason.USER)
        return await self._ask_owner(execution_id, ControlAction.CANCEL)

    async def pause(self, execution_id: str) -> bool:
        """Start no new node of the execution (``paused`` at once; running nodes finish
        and are recorded; it keeps its slot) until :meth:`resume`. False when it has
        finished, is finishing, or runs in another process."""
        driver = self.runs.get(execution_id)
        if driver is not None:
            return driver.pause()
        return await self._ask_owner(execution_id, ControlAction.PAUSE)

    async def _ask_owner(self, execution_id: str, action: ControlAction) -> bool:
        """Record ``action`` for the live process that owns this unfinished execution
        (see :mod:`main_process.store.control`); False when no other live process owns
        it (ExecutionNotFoundError when unknown)."""
        if self.store is not None and await ask_owner(
            self.store, self.owner_id, execution_id, action
        ):
            return True
        await self.get_execution(execution_id)  # raises when unknown; marks orphans
        return False

    def queue_position(self, execution_id: str) -> int | None:
        """1 for the next execution to start, ...; None when not waiting."""
        return self.runs.queue_position(execution_id)

    async def get_execution(self, execution_id: str) -> ExecutionResult:
        state = self.states.get_active(execution_id)
        if state is not None and state.status.is_terminal:  # ended, its record committing:
            with contextlib.suppress(ConductorError):  # answer once it is committed
                if (done := await self.runs.wait(execution_id)) is not None:
                    return done
        if state is not None:
            result = state.to_result()
            result.queue_position = self.queue_position(execution_id)
            return result
        if self.store is not None:
            await asyncio.to_thread(recover_orphans, self.store, self.owner_id, execution_id)
            await self.handlers.sweep(execution_id)
        state = await asyncio.to_thread(self.states.load_execution, execution_id)
        return state.to_result()

    # -- resume --------------------------------------------------------------------

    async def resume(
        self, execution_id: str, *, wait: bool = True, child: bool = False
    ) -> ExecutionResult:
        """Go on with an execution: a paused one of this engine in place; otherwise
        (interrupted, failed, cancelled, or paused by a process that is gone) re-run
        the nodes that have no recorded completion. ``child``: a ``blueprint.call``
        child resumed by its parent's node, under the parent's slot."""
        self._ensure_loop_parts()
        driver = self.runs.get(execution_id)
        if driver is not None:
            if not driver.resume():
                raise ResumeError(f"execution {execution_id!r} is running", where="execution_id")
            return await self.wait(execution_id) if wait else driver.state.to_result()
        state, here = await resume_recorded(self, execution_id, self._ask_owner, child=child)
        return await self.wait(execution_id) if wait and here else state.to_result()

    # -- housekeeping --------------------------------------------------------------

    async def close(self) -> None:
        """Stop running executions (they end ``interrupted``; paused ones stay
        ``paused``), commit, and close the store."""
        if self._closed:
            return
        await self.triggers.close()  # first: no fire may start while runs shut down
        await self.runs.shut_down()
        if self._control is not None:
            await self._control.stop()
        self._closed = True
        if self.store is not None:
            self.store.close()
        self._pool.shutdown(wait=False, cancel_futures=True)  # stuck threads are not waited for
        await self.processes.close()
        # Last: until the records above are committed, nobody else may take them over.
        if self.owner_lock is not None:
            self.owner_lock.release()
        LIVE_OWNERS.pop(self.owner_id, None)

    # -- blueprints and node types (see BlueprintOps) ------------------------------

    async def validate(self, blueprint: BlueprintArg) -> list[Problem]:
        found = await self.blueprint_ops.validate(blueprint)
        return await self.secrets.with_problems(blueprint, found)

    async def list_blueprints(self) -> list[BlueprintSummary]:
        return await self.blueprint_ops.list_blueprints()

    async def get_blueprint(self, blueprint_id: str) -> Blueprint:
        return await self.blueprint_ops.get_blueprint(blueprint_id)

    async def save_blueprint(self, blueprint: BlueprintArg) -> BlueprintSummary:
        return await self.blueprint_ops.save_blueprint(blueprint)

    async def delete_blueprint(self, blueprint_id: str) -> None:
        await self.blueprint_ops.delete_blueprint(blueprint_id)

    async def node_types(self) -> list[NodeTypeInfo]:
        return await self.blueprint_ops.node_types()

    # -- records (see Records) -----------------------------------------------------

    async def node_output(
        self, execution_id: str, node_id: str, *, offset: int = 0, limit: int = 100
    ) -> OutputPage:
        return await self.records.node_output(execution_id, node_id, offset=offset, limit=limit)

    async def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        if not self._closed:
            await self.handlers.sweep()  # owed handlers start before they are listed
        return await self.records.list_executions(
            limit=limit, status=status, blueprint_id=blueprint_id
        )

    async def recorded_events(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        return await self.records.recorded_events(execution_id, after_seq, limit)

    async def cursor(self, execution_id: str, after_seq: int = 0) -> EventCursor:
        """The one pull cursor on an execution's events (SSE, pipe, in-process)."""
        return await self.records.cursor(execution_id, after_seq)

    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Recorded events after ``after_seq``, then live ones until the terminal event."""
        return self.records.events(execution_id, after_seq)
