"""Running one node: attempts, retries, timeouts, runners, and its record.

:class:`NodeRunner` is given a small :class:`NodeEnv` (the execution's state and the
engine's pools and limits) and a view of the other nodes' outputs for templates;
it knows nothing of the graph or of scheduling. :meth:`NodeRunner.run` records
every transition of the node (``running``, ``retrying``, its outcome) and returns
the outcome for the driver to tell the graph. Node code gets a
:class:`NodeRunContext`; templates see ``nodes.<id>`` through
:class:`~main_process.engine.nodes_view.NodesView`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from types import AsyncGeneratorType, GeneratorType
from typing import Any

from pydantic import ValidationError

from app.blueprint import Runner
from app.errors import ConductorError, ErrorInfo, NodeFailedError, NodeTimeoutError, TemplateError
from app.evaluation_limits import eval_timeout, evaluate
from app.fault_injection import Injection
from app.json_values import NotJson, output_error
from app.states import NodeStatus
from main_process import faults
from main_process.engine import injection
from main_process.engine.execution_state import ExecutionState
from main_process.engine.limiter import Limiter
from main_process.engine.node_context import NodeRunContext
from main_process.engine.plan import PlanNode
from main_process.engine.state_manager import StateManager
from main_process.nodes.base import PortOutput
from main_process.runners.dask_runner import DaskCluster, DaskUnavailableError
from main_process.runners.process import ProcessPool
from main_process.runners.sync_calls import may_inline, run_plain
from main_process.runners.threads import current_pool, run_in_pool
from main_process.runners.tracebacks import format_traceback
from main_process.secrets.template_view import SecretsView
from main_process.streams.channel import StreamError
from main_process.streams.execution import settled_input

_RUNNING, _RETRYING = NodeStatus.RUNNING, NodeStatus.RETRYING
_COMPLETED, _FAILED, _CANCELLED = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.CANCELLED

#: The limit a node that only waits for child runs takes (never full).
_NO_LIMIT = Limiter(1 << 30)

#: What a node returns that only a declared stream may (never an output itself).
_GENERATORS = frozenset({GeneratorType, AsyncGeneratorType})

#: A node's outcome: ``completed`` (output, port) or ``failed`` (its error record).
Outcome = tuple[NodeStatus, Any, str | None]


@dataclass(slots=True)
class NodeEnv:
    """What running a node needs from its execution and engine."""

    states: StateManager
    state: ExecutionState
    global_limit: Limiter
    thread_pool: Executor
    base_dir: Path
    file_roots: tuple[Path, ...]
    process_pool: ProcessPool | None = None
    #: ``runner: dask``'s cluster (None: the engine was given no scheduler).
    dask: DaskCluster | None = None
    debug: bool = False
    #: A resumed run (recorded completions were handed in); fault points use it.
    resumed: bool = False
    #: ``config.inject``: faults to apply by node id (None: none, the usual case).
    inject: dict[str, Injection] | None = None
    #: What ``blueprint.call`` and ``loop`` nodes start child runs through
    #: (:class:`~main_process.engine.subflows.Subflows`); None: not available here.
    subflows: Any = None
    #: A loop body's ``item`` and ``index`` (templates see them; None elsewhere).
    item: Any = None
    index: int | None = None
    #: ``secrets`` in templates: a lookup into the engine's vault (None: no vault).
    secrets: SecretsView | None = None
    #: The execution's streams (:class:`~main_process.streams.execution.ExecutionStreams`);
    #: None when its plan has no stream roles.
    streams: Any = None


class NodeRunner:
    """Runs single nodes of one execution and records their transitions."""

    __slots__ = (
        "_call",
        "_execution_info",
        "_nodes_view",
        "_resume_fault_passed",
        "_trigger",
        "env",
        "execution_id",
    )

    def __init__(self, env: NodeEnv, nodes: Mapping[str, dict[str, Any]]) -> None:
        self.env = env
        self.execution_id = env.state.execution_id
        self._nodes_view = nodes
        self._execution_info = {"id": self.execution_id, "blueprint_id": env.state.blueprint.id}
        self._trigger = env.state.config.get("trigger") or {}
        self._resume_fault_passed = False
        #: One attempt's call: through the stream roles when the plan has them.
        self._call = self.invoke if env.streams is None else self._streamed

    def record(self, node: PlanNode, status: NodeStatus) -> None:
        """Record an outcome decided without running the node (skipped, cancelled)."""
        self.env.states.update_node_state(self.execution_id, node.id, status)

    async def run(self, node: PlanNode, value: Any, upstream: dict[str, Any]) -> Outcome:
        """Run every attempt the node's ``retry`` allows; record each transition.

        Cancellation (the execution stops) records ``cancelled`` and propagates.
        """
        env = self.env
        states, eid = env.states, self.execution_id
        attempt = 1
        while True:
            if env.debug and attempt == 1:
                shown = value if env.streams is None else settled_input(value)
                states.update_node_state(eid, node.id, _RUNNING, attempt=1, input=shown)
            else:
                states.update_node_state(eid, node.id, _RUNNING, attempt=attempt)
            try:
                # A node that waits for child runs holds no slot: their nodes take them.
                limit = _NO_LIMIT if node.waits_for_children else env.global_limit
                if not limit.try_acquire():
                    await limit.acquire()
                try:
                    faults.fault_point("node.before_run", node.id)
                    if node.timeout is None:
                        result = await self._call(node, value, upstream, attempt)
                    else:
                        result = await self._attempt(node, value, upstream, attempt)
                finally:
                    limit.release()
                if type(result) in _GENERATORS:
                    raise undeclared_stream(node)
            except asyncio.CancelledError:
                states.update_node_state(eid, node.id, _CANCELLED, attempt=attempt)
                raise
            except Exception as exc:
                error = self._error_info(node, exc)
                retryable = not isinstance(exc, TemplateError | ParamsError | StreamError) and (
                    error.type != "NodeOutputError"  # from a process worker: the same again
                )
                if attempt < node.max_attempts and retryable:
                    policy = node.spec.retry
                    assert policy is not None
                    delay = policy.delay_before(attempt + 1, random.random())
                    states.update_node_state(
                        eid,
                        node.id,
                        _RETRYING,
                        attempt=attempt,
                        error=error,
                        data={"delay": delay},
                    )
                    try:
                        if delay > 0:
                            await asyncio.sleep(delay)
                    except asyncio.CancelledError:
                        states.update_node_state(eid, node.id, _CANCELLED, attempt=attempt)
                        raise
                    attempt += 1
                    continue
                return self._failed(node, attempt, error)
            faults.fault_point("node.after_run", node.id)
            if isinstance(result, PortOutput):
                output, port = result.value, result.port
            else:
                output, port = result, None
            try:
                states.update_node_state(
                    eid, node.id, _COMPLETED, attempt=attempt, output=output, port=port, hold=True
                )
            except NotJson as bad:  # not retried: the same code returns the same
                return self._failed(node, attempt, output_error(node.id, node.where, output, bad))
            # Durable before anything consumes the output or hears of it: a killed
            # process never runs a finished node again.
            await states.commit_held(eid)
            if faults.armed():
                await self._resume_fault()
            return (_COMPLETED, output, port)

    def _failed(self, node: PlanNode, attempt: int, error: ErrorInfo) -> Outcome:
        record = {"error": {"type": error.type, "message": error.message}}
        self.env.states.update_node_state(
            self.execution_id, node.id, _FAILED, attempt=attempt, output=record, error=error
        )
        return (_FAILED, record, None)

    async def _resume_fault(self) -> None:
        """``resume.after_first_node``: in a resumed run, once the first re-run node's
        completion is committed. Only reached when a fault point is armed (tests)."""
        if self.env.resumed and not self._resume_fault_passed:
            self._resume_fault_passed = True
            store = self.env.states.store
            assert store is not None  # resume needs a store
            await store.flush()
            faults.fault_point("resume.after_first_node")

    async def _attempt(
        self, node: PlanNode, value: Any, upstream: dict[str, Any], attempt: int
    ) -> Any:
        assert node.timeout is not None
        try:
            async with asyncio.timeout(node.timeout) as scope:
                return await self._call(node, value, upstream, attempt)
        except TimeoutError:
            if scope.expired():
                raise NodeTimeoutError(
                    f"timed out after {node.timeout:g} s (attempt {attempt})",
                    node_id=node.id,
                    where=f"{node.where}.timeout",
                ) from None
            raise

    async def _streamed(
        self, node: PlanNode, value: Any, upstream: dict[str, Any], attempt: int
    ) -> Any:
        from main_process.streams.running import run_stream_node

        return await run_stream_node(self, node, value, upstream, attempt)

    async def invoke(
        self, node: PlanNode, value: Any, upstream: dict[str, Any], attempt: int
    ) -> Any:
        """One call of the node's code (or type) with ``value``: its result as returned."""
        inject = self.env.inject
        if inject is not None and (fault := inject.get(node.id)) is not None:
            await injection.apply(fault, node, attempt, self.env.states, self.execution_id)
        if node.runner is Runner.PROCESS or node.runner is Runner.DASK:
            return await self._call_in_process(node, value, upstream, attempt)
        fn = node.function
        if fn is not None:
            args: tuple[Any, ...]
            if node.takes_context:
                args = (value, NodeRunContext(self.env, node.id, attempt, upstream, node.timeout))
            else:
                args = (value,)
            if node.is_async:
                return await fn(*args)
            if node.runner is Runner.THREAD:
                if node.spec.runner is None and node.timeout is None:
                    # The default for plain functions: the loop once shown fast.
                    return await run_plain(self.env.thread_pool, fn, *args)
                return await run_in_pool(self.env.thread_pool, fn, *args)
            return fn(*args)
        node_type = node.node_type
        assert node_type is not None
        params = node.params if node.params is not None else await self._params(node, value)
        context = NodeRunContext(self.env, node.id, attempt, upstream, node.timeout)
        if node_type.is_async:
            current_pool.set(self.env.thread_pool)  # for types that block on a thread themselves
            # ... and whether their plain functions may run on the loop (sync_calls)
            may_inline.set(node.spec.runner is None and node.timeout is None)
            return await node_type.run(params, value, context)
        if node.runner is Runner.THREAD:
            return await run_in_pool(self.env.thread_pool, node_type.run, params, value, context)
        return node_type.run(params, value, context)

    async def _call_in_process(
        self, node: PlanNode, value: Any, upstream: dict[str, Any], attempt: int
    ) -> Any:
        """One attempt in a worker process, killed if this await is cancelled (or on the
        Dask cluster, its futures cancelled)."""
        pool: ProcessPool | DaskCluster | None = self.env.process_pool
        if node.runner is Runner.DASK:
            if (pool := self.env.dask) is None:
                raise DaskUnavailableError("runner dask: no Dask scheduler", node_id=node.id)
        elif pool is None:
            raise NodeFailedError("runner process is not available in this engine", node_id=node.id)
        params = None
        if node.node_type is not None:
            params = node.params if node.params is not None else await self._params(node, value)
        context = NodeRunContext(self.env, node.id, attempt, upstream, node.timeout)
        output, port = await pool.run(node, params, value, context, self.env.state.variables)
        return output if port is None else PortOutput(port, output)

    def template_context(self, value: Any) -> dict[str, Any]:
        return {
            "inputs": self.env.state.inputs,
            "nodes": self._nodes_view,
            "input": value,
            "vars": self.env.state.variables,
            "execution": self._execution_info,
            "trigger": self._trigger,
            "item": self.env.item,
            "index": self.env.index,
            "secrets": self.env.secrets,
        }

    async def _params(self, node: PlanNode, value: Any) -> Any:
        """The node's params with templates rendered: bounded in time like any evaluation
        (:func:`app.evaluation_limits.evaluate`: on the loop while short, else on a
        thread, stopped at the node's timeout)."""
        return await evaluate(
            lambda: self._render_params(node, value),
            timeout=eval_timeout(node.timeout),
            where=f"{node.where}.params",
            what="rendering the params' templates",
        )

    def _render_params(self, node: PlanNode, value: Any) -> Any:
        assert node.params_template is not None and node.node_type is not None
        rendered = node.params_template.render(self.template_context(value))
        try:
            return node.node_type.params_model.model_validate(rendered)
        except ValidationError as exc:
            first = exc.errors()[0]
            place = ".".join(str(p) for p in first["loc"])
            raise ParamsError(
                f"params after templates are invalid: {first['msg']}",
                where=f"{node.where}.params.{place}" if place else f"{node.where}.params",
                node_id=node.id,
            ) from None

    def _error_info(self, node: PlanNode, exc: BaseException) -> ErrorInfo:
        if isinstance(exc, ConductorError):
            info = exc.to_info()
            info.node_id = node.id
            if info.where is None:
                info.where = node.where
            elif info.where.startswith(("params", "output")):
                info.where = f"{node.where}.{info.where}"
            if info.traceback is None and not isinstance(
                exc, NodeTimeoutError | TemplateError | ParamsError
            ):
                info.traceback = format_traceback(exc)
            return info
        return ErrorInfo(
            type=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            where=node.where,
            node_id=node.id,
            traceback=format_traceback(exc),
        )


def undeclared_stream(node: PlanNode) -> StreamError:
    """A generator from a node that does not declare a stream (see :mod:`app.stream_roles`)."""
    return StreamError(
        f"node {node.id!r} returned a generator but does not declare a stream: give "
        "python.function 'stream: true' (or make the function a generator function), or "
        "return a list",
        where=node.where,
        node_id=node.id,
    )


class ParamsError(NodeFailedError):
    """Rendered params failed the node type's model (not worth a retry)."""

    type_name = "ParamsError"
