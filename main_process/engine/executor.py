"""The graph executor: runs one execution of a compiled :class:`~main_process.engine.plan.Plan`.

Semantics (the design's ★ contract):

* **Sequential** blueprints (no ``edges``) are compiled into a chain: each node gets
  the previous node's output, the first gets the blueprint inputs.
* **DAG** blueprints run every node whose upstreams are all finished, as soon as
  they are, up to ``concurrency`` at once (and the engine-wide limit). A node's
  input is the blueprint inputs (no upstream), its upstream's output (one), or
  ``{upstream_id: output}`` (several).
* Incoming edges end in one of three states: *success* (upstream completed, and
  the edge's ``source_port`` is the port it fired, if it names one), *failed*
  (upstream failed with ``on_error: continue``), *skipped* (upstream skipped, or an
  untaken port). The node's ``when`` rule decides: ``all_success`` runs unless an
  edge is skipped (a failed-but-continued upstream counts as completed, as the
  design asks); ``none_failed`` runs when no edge failed and one succeeded;
  ``any_success`` when one succeeded; ``all_done`` always. A node that does not
  run ends ``skipped``, and skipping propagates.
* ``on_error: fail`` is fast failure: running nodes are cancelled, nodes not yet
  run end ``cancelled``, the execution fails with the node's error.
  ``on_error: continue``: the node ends ``failed`` with ``{"error": {...}}`` as its
  output and its downstream goes on.
* Each attempt of a node has its own ``timeout``; ``retry`` re-runs a failing node
  after ``delay * backoff**n`` (± jitter) seconds, emitting ``retrying`` between.

Assumptions: node code is trusted to return; a blocking function on the
``thread`` runner that ignores its timeout keeps its thread busy, but the node is
reported failed at the timeout and never holds the execution open (nor the
engine's close, nor the process's exit: see :mod:`main_process.runners.threads`). On
the ``process`` runner the worker running it is killed at the timeout instead.

Speed: a lone ready node with nothing running is awaited directly instead of
through a task (the common case of chains); finished tasks report through a
callback into a deque, so a wide fan-out costs O(1) per completion.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, assert_never

from app.blueprint import JoinRule
from app.errors import (
    ConductorError,
    ExecutionCancelledError,
    ExecutionTimeoutError,
)
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.execution_state import ExecutionState
from main_process.engine.limiter import Limiter
from main_process.engine.node_running import NodeRunning, NodesView
from main_process.engine.plan import Plan, PlanNode
from main_process.engine.state_manager import StateManager
from main_process.runners.process import ProcessPool

_SUCCESS, _FAILED_EDGE, _SKIPPED_EDGE = 0, 1, 2
_PENDING, _RUNNING, _RETRYING = NodeStatus.PENDING, NodeStatus.RUNNING, NodeStatus.RETRYING
_COMPLETED, _FAILED, _CANCELLED = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.CANCELLED
_SKIPPED = NodeStatus.SKIPPED

#: Why an execution was cancelled from outside: the status it ends in and its error.
CANCEL_REASONS: dict[str, tuple[ExecutionStatus, type[ConductorError], str]] = {
    "user": (ExecutionStatus.CANCELLED, ExecutionCancelledError, "the execution was cancelled"),
    "timeout": (ExecutionStatus.FAILED, ExecutionTimeoutError, "the execution timed out"),
    "shutdown": (
        ExecutionStatus.INTERRUPTED,
        ExecutionCancelledError,
        "the engine shut down while the execution ran; resume it to finish",
    ),
}


class ExecutionRun(NodeRunning):
    """Runs one execution to a terminal state, recording every step."""

    def __init__(
        self,
        plan: Plan,
        states: StateManager,
        state: ExecutionState,
        *,
        concurrency: int,
        global_limit: Limiter,
        thread_pool: Executor,
        base_dir: Path,
        file_roots: tuple[Path, ...],
        process_pool: ProcessPool | None = None,
        debug: bool = False,
        completed: Mapping[str, tuple[Any, str | None]] | None = None,
        slots: Limiter | None = None,
        reused_from: str | None = None,
    ) -> None:
        self.plan = plan
        self.slots = slots
        #: For a run from a node: the execution whose recorded outputs ``completed`` holds.
        self.reused_from = reused_from
        #: True while the execution waits for a free execution slot (state ``pending``).
        self.queued = False
        self.states = states
        self.state = state
        self.execution_id = state.execution_id
        self.concurrency = max(1, concurrency)
        self.global_limit = global_limit
        self.thread_pool = thread_pool
        self.process_pool = process_pool
        self.base_dir = base_dir
        self.file_roots = file_roots
        self.debug = debug
        n = len(plan.nodes)
        self.status: list[NodeStatus] = [_PENDING] * n
        self.outputs: list[Any] = [None] * n
        self.ports: list[str | None] = [None] * n
        self._waiting = [len(node.upstream) for node in plan.nodes]
        self._precompleted: set[int] = set()
        for node_id, (output, port) in (completed or {}).items():
            i = plan.by_id[node_id].index
            self._precompleted.add(i)
            self.status[i], self.outputs[i], self.ports[i] = _COMPLETED, output, port
        self._nodes_view = NodesView(self)
        self._execution_info = {"id": self.execution_id, "blueprint_id": plan.blueprint.id}
        self._failure: PlanNode | None = None
        self._cancel_reason: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._finished: deque[asyncio.Task[None]] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._running: dict[asyncio.Task[None], int] = {}

    # -- control -------------------------------------------------------------------

    def cancel(self, reason: str = "user") -> bool:
        """Stop the execution; ``reason`` is a key of :data:`CANCEL_REASONS`."""
        if self._task is not None and self._task.done():
            return False
        if self._cancel_reason is None:
            self._cancel_reason = reason
        if self._task is not None:
            self._task.cancel()
        return True  # not started yet: run() sees the reason and stops at once

    async def run(self) -> ExecutionState:
        """Run to a terminal state; never raises for what the nodes do.

        With ``slots`` (the engine's limit on executions at once), the execution
        first waits, ``pending``, for a slot: queued executions start in order.
        """
        self._task = asyncio.current_task()
        if self._cancel_reason is not None:
            self._cancel_rest()
            self._close_as(self._cancel_reason)
            return self.state
        slots = self.slots
        if slots is not None and not slots.try_acquire():
            self.queued = True
            try:
                await slots.acquire()
            except asyncio.CancelledError:
                if self._task is not None:
                    self._task.uncancel()
                self._cancel_rest()
                self._close_as(self._cancel_reason or "user")
                return self.state
            finally:
                self.queued = False
        try:
            return await self._run()
        finally:
            if slots is not None:
                slots.release()

    async def _run(self) -> ExecutionState:
        states, eid = self.states, self.execution_id
        if self.reused_from is not None:
            states.update_execution_state(
                eid, ExecutionStatus.RUNNING, data={"reused_from": self.reused_from}
            )
            for index in sorted(self._precompleted):
                node = self.plan.nodes[index]
                states.update_node_state(
                    eid,
                    node.id,
                    _COMPLETED,
                    attempt=0,
                    output=self.outputs[index],
                    port=self.ports[index],
                    data={"reused_from": self.reused_from},
                )
        else:
            states.update_execution_state(
                eid,
                ExecutionStatus.RUNNING,
                data={"resumed": True} if self._precompleted else None,
            )
        try:
            await self._schedule()
        except asyncio.CancelledError:
            if self._task is not None:
                self._task.uncancel()
            await self._finish_cancelled(self._cancel_reason or "user")
            return self.state
        if self._failure is not None:
            node = self._failure
            self._cancel_rest()
            error = self.state.nodes[node.id].error
            states.update_execution_state(eid, ExecutionStatus.FAILED, error=error)
            return self.state
        try:
            outputs = self._outputs()
        except ConductorError as exc:
            states.update_execution_state(eid, ExecutionStatus.FAILED, error=exc.to_info())
            return self.state
        states.update_execution_state(eid, ExecutionStatus.COMPLETED, outputs=outputs)
        return self.state

    async def _finish_cancelled(self, reason: str) -> None:
        await self._stop_running()
        self._cancel_rest()
        self._close_as(reason)

    def _close_as(self, reason: str) -> None:
        status, error_type, message = CANCEL_REASONS.get(reason, CANCEL_REASONS["user"])
        self.states.update_execution_state(
            self.execution_id, status, error=error_type(message).to_info()
        )

    async def _stop_running(self) -> None:
        tasks = [t for t in self._running if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _cancel_rest(self) -> None:
        for node in self.plan.nodes:
            if not self.status[node.index].is_terminal:
                self._set_terminal(node, _CANCELLED)

    # -- scheduling ----------------------------------------------------------------

    async def _schedule(self) -> None:
        ready: deque[int] = deque()
        for root in self.plan.roots:
            self._make_ready(root, ready)
        loop = asyncio.get_running_loop()
        limit = self.concurrency
        running = self._running
        while True:
            while ready and len(running) < limit and self._failure is None:
                index = ready.popleft()
                if not running and not ready:
                    await self._run_node(self.plan.nodes[index])
                    self._after(index, ready)
                    continue
                task = loop.create_task(self._run_node(self.plan.nodes[index]))
                running[task] = index
                task.add_done_callback(self._task_done)
            if self._failure is not None:
                await self._stop_running()
                return
            if not running:
                return
            if not self._finished:
                self._wakeup = loop.create_future()
                try:
                    await self._wakeup
                finally:
                    self._wakeup = None
            while self._finished:
                task = self._finished.popleft()
                index = running.pop(task)
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
                self._after(index, ready)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._finished.append(task)
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def _after(self, index: int, ready: deque[int]) -> None:
        node = self.plan.nodes[index]
        if self.status[index] is _FAILED and not node.continue_on_error:
            if self._failure is None:
                self._failure = node
            return
        if self.status[index] is _CANCELLED:
            return
        self._release(index, ready)

    def _release(self, index: int, ready: deque[int]) -> None:
        """Resolve ``index``'s outgoing edges; start or skip targets whose inputs are all in."""
        stack = [index]
        while stack:
            current = stack.pop()
            for target, _port in self.plan.nodes[current].downstream:
                self._waiting[target] -= 1
                if self._waiting[target]:
                    continue
                if self._should_run(self.plan.nodes[target]):
                    self._make_ready(target, ready, stack)
                else:
                    self._set_terminal(self.plan.nodes[target], _SKIPPED)
                    stack.append(target)

    def _make_ready(self, index: int, ready: deque[int], stack: list[int] | None = None) -> None:
        if index in self._precompleted:
            if stack is None:
                self._release(index, ready)
            else:
                stack.append(index)
            return
        ready.append(index)

    def _edge_state(self, source: int, port: str | None) -> int:
        status = self.status[source]
        if status is _COMPLETED:
            if port is None or self.plan.sequential or port == self.ports[source]:
                return _SUCCESS
            return _SKIPPED_EDGE
        if status is _FAILED:
            return _FAILED_EDGE
        return _SKIPPED_EDGE

    def _should_run(self, node: PlanNode) -> bool:
        success = failed = skipped = 0
        for source, port in node.upstream:
            state = self._edge_state(source, port)
            if state == _SUCCESS:
                success += 1
            elif state == _FAILED_EDGE:
                failed += 1
            else:
                skipped += 1
        match node.when:
            case JoinRule.ALL_SUCCESS:
                return skipped == 0
            case JoinRule.NONE_FAILED:
                return failed == 0 and success > 0
            case JoinRule.ANY_SUCCESS:
                return success > 0
            case JoinRule.ALL_DONE:
                return True
            case _:
                assert_never(node.when)

    def _input_for(self, node: PlanNode) -> tuple[Any, dict[str, Any]]:
        """The node's input and its ``{upstream_id: output}`` of upstreams that ran."""
        if not node.upstream:
            return self.state.inputs, {}
        accept_failed = node.when is not JoinRule.ANY_SUCCESS
        upstream: dict[str, Any] = {}
        for source, port in node.upstream:
            state = self._edge_state(source, port)
            if state == _SUCCESS or (state == _FAILED_EDGE and accept_failed):
                upstream[self.plan.nodes[source].id] = self.outputs[source]
        if len(upstream) == 1:
            return next(iter(upstream.values())), upstream
        return upstream, upstream

    # -- running one node --------------------------------------------------------

    # -- results -------------------------------------------------------------------

    def _outputs(self) -> Any:
        plan = self.plan
        if plan.outputs is None:
            if plan.sequential:
                return self.outputs[-1] if self.outputs else None
            return {
                plan.nodes[i].id: self.outputs[i]
                for i in plan.sinks
                if self.status[i] in (_COMPLETED, _FAILED)
            }
        context = self._template_context(self.state.inputs)
        result: dict[str, Any] = {}
        for name, kind, spec in plan.outputs:
            if kind == "node":
                result[name] = self.outputs[plan.by_id[spec].index]
            elif kind == "template":
                result[name] = spec.render(context)
            else:
                result[name] = spec
        return result
