"""Running one node: input, attempts, retries, timeouts, runners, and its record.

:class:`NodeRunning` is the half of :class:`~main_process.engine.executor.ExecutionRun`
that deals with a single node; the executor module keeps the half that decides
which node runs when. Node code gets a :class:`NodeRunContext`; templates see
``nodes.<id>`` through :class:`NodesView`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.blueprint import Runner
from app.errors import ConductorError, ErrorInfo, NodeFailedError, NodeTimeoutError, TemplateError
from app.states import NodeStatus
from main_process import faults
from main_process.engine.execution_state import ExecutionState
from main_process.engine.limiter import Limiter
from main_process.engine.plan import Plan, PlanNode
from main_process.engine.state_manager import StateManager
from main_process.nodes.base import PortOutput
from main_process.runners.process import ProcessPool
from main_process.runners.sync_calls import may_inline, run_plain
from main_process.runners.threads import current_pool, run_in_pool
from main_process.runners.tracebacks import format_traceback

_RUNNING, _RETRYING = NodeStatus.RUNNING, NodeStatus.RETRYING
_COMPLETED, _FAILED, _CANCELLED = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.CANCELLED


class NodeRunContext:
    """The :class:`~main_process.nodes.base.NodeContext` a node's code receives."""

    __slots__ = ("_run", "attempt", "node_id", "upstream")

    def __init__(
        self, run: NodeRunning, node_id: str, attempt: int, upstream: dict[str, Any]
    ) -> None:
        self._run = run
        self.node_id = node_id
        self.attempt = attempt
        self.upstream = upstream

    @property
    def execution_id(self) -> str:
        return self._run.execution_id

    @property
    def inputs(self) -> dict[str, Any]:
        return self._run.state.inputs

    @property
    def base_dir(self) -> Path:
        return self._run.base_dir

    @property
    def file_roots(self) -> tuple[Path, ...]:
        return self._run.file_roots

    def log(self, message: str, level: str = "info", **data: Any) -> None:
        self._run.states.log_message(self._run.execution_id, self.node_id, message, level, **data)

    def get_variable(self, key: str, default: Any = None) -> Any:
        return self._run.state.variables.get(key, default)

    def set_variable(self, key: str, value: Any) -> None:
        self._run.states.set_variable(self._run.execution_id, key, value)


class NodesView(Mapping[str, dict[str, Any]]):
    """``nodes.<id>`` in templates: output, status and port of each node so far."""

    __slots__ = ("_run",)

    def __init__(self, run: NodeRunning) -> None:
        self._run = run

    def __getitem__(self, node_id: str) -> dict[str, Any]:
        node = self._run.plan.by_id[node_id]
        i = node.index
        return {
            "output": self._run.outputs[i],
            "status": self._run.status[i].value,
            "port": self._run.ports[i],
        }

    def __iter__(self) -> Iterator[str]:
        return iter(self._run.plan.by_id)

    def __len__(self) -> int:
        return len(self._run.plan.nodes)


class NodeRunning:
    """Runs single nodes of one execution and records their outcome."""

    plan: Plan
    states: StateManager
    state: ExecutionState
    execution_id: str
    global_limit: Limiter
    thread_pool: Executor
    process_pool: ProcessPool | None
    base_dir: Path
    file_roots: tuple[Path, ...]
    debug: bool
    status: list[NodeStatus]
    outputs: list[Any]
    ports: list[str | None]
    _nodes_view: NodesView
    _execution_info: dict[str, Any]
    #: A resumed run (recorded completions were handed in); fault points use it.
    resumed: bool = False
    _resume_fault_passed: bool = False

    def _input_for(self, node: PlanNode) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    def _set_terminal(
        self,
        node: PlanNode,
        status: NodeStatus,
        *,
        output: Any = None,
        error: ErrorInfo | None = None,
        port: str | None = None,
        attempt: int | None = None,
    ) -> None:
        i = node.index
        self.status[i] = status
        self.ports[i] = port
        if status is _COMPLETED or status is _FAILED:
            self.outputs[i] = output
            self.states.update_node_state(
                self.execution_id,
                node.id,
                status,
                attempt=attempt,
                output=output,
                error=error,
                port=port,
            )
        else:
            self.states.update_node_state(
                self.execution_id, node.id, status, attempt=attempt, error=error
            )

    async def _run_node(self, node: PlanNode) -> None:
        value, upstream = self._input_for(node)
        states, eid = self.states, self.execution_id
        self.status[node.index] = _RUNNING
        attempt = 1
        while True:
            if self.debug and attempt == 1:
                states.update_node_state(eid, node.id, _RUNNING, attempt=1, input=value)
            else:
                states.update_node_state(eid, node.id, _RUNNING, attempt=attempt)
            try:
                limit = self.global_limit
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
            except asyncio.CancelledError:
                self._set_terminal(node, _CANCELLED, attempt=attempt)
                raise
            except Exception as exc:
                error = self._error_info(node, exc)
                retryable = not isinstance(exc, TemplateError | ParamsError)
                if attempt < node.max_attempts and retryable:
                    policy = node.spec.retry
                    assert policy is not None
                    delay = policy.delay_before(attempt + 1, random.random())
                    self.status[node.index] = _RETRYING
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
                        self._set_terminal(node, _CANCELLED, attempt=attempt)
                        raise
                    attempt += 1
                    continue
                record = {"error": {"type": error.type, "message": error.message}}
                self._set_terminal(node, _FAILED, output=record, error=error, attempt=attempt)
                return
            faults.fault_point("node.after_run", node.id)
            if isinstance(result, PortOutput):
                self._set_terminal(
                    node,
                    _COMPLETED,
                    output=result.value,
                    port=result.port,
                    attempt=attempt,
                )
            else:
                self._set_terminal(node, _COMPLETED, output=result, attempt=attempt)
            if faults.armed():
                await self._resume_fault()
            return

    async def _resume_fault(self) -> None:
        """``resume.after_first_node``: in a resumed run, once the first re-run node's
        completion is committed. Only reached when a fault point is armed (tests)."""
        if self.resumed and not self._resume_fault_passed:
            self._resume_fault_passed = True
            await self.states.store.flush()
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

    async def _call(
        self, node: PlanNode, value: Any, upstream: dict[str, Any], attempt: int
    ) -> Any:
        if node.runner is Runner.PROCESS:
            return await self._call_in_process(node, value, upstream, attempt)
        fn = node.function
        if fn is not None:
            args: tuple[Any, ...]
            if node.takes_context:
                args = (value, NodeRunContext(self, node.id, attempt, upstream))
            else:
                args = (value,)
            if node.is_async:
                return await fn(*args)
            if node.runner is Runner.THREAD:
                if node.spec.runner is None and node.timeout is None:
                    # The default for plain functions: the loop once shown fast.
                    return await run_plain(self.thread_pool, fn, *args)
                return await run_in_pool(self.thread_pool, fn, *args)
            return fn(*args)
        node_type = node.node_type
        assert node_type is not None
        params = node.params if node.params is not None else self._render_params(node, value)
        context = NodeRunContext(self, node.id, attempt, upstream)
        if node_type.is_async:
            current_pool.set(self.thread_pool)  # for types that block on a thread themselves
            # ... and whether their plain functions may run on the loop (sync_calls)
            may_inline.set(node.spec.runner is None and node.timeout is None)
            return await node_type.run(params, value, context)
        if node.runner is Runner.THREAD:
            return await run_in_pool(self.thread_pool, node_type.run, params, value, context)
        return node_type.run(params, value, context)

    async def _call_in_process(
        self, node: PlanNode, value: Any, upstream: dict[str, Any], attempt: int
    ) -> Any:
        """One attempt in a worker process, killed if this await is cancelled."""
        if self.process_pool is None:
            raise NodeFailedError("runner process is not available in this engine", node_id=node.id)
        params = None
        if node.node_type is not None:
            params = node.params if node.params is not None else self._render_params(node, value)
        context = NodeRunContext(self, node.id, attempt, upstream)
        output, port = await self.process_pool.run(
            node, params, value, context, self.state.variables
        )
        return output if port is None else PortOutput(port, output)

    def _template_context(self, value: Any) -> dict[str, Any]:
        return {
            "inputs": self.state.inputs,
            "nodes": self._nodes_view,
            "input": value,
            "vars": self.state.variables,
            "execution": self._execution_info,
        }

    def _render_params(self, node: PlanNode, value: Any) -> Any:
        assert node.params_template is not None and node.node_type is not None
        rendered = node.params_template.render(self._template_context(value))
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
            elif info.where.startswith("params"):
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


class ParamsError(NodeFailedError):
    """Rendered params failed the node type's model (not worth a retry)."""

    type_name = "ParamsError"
