"""The driver: runs one execution of a compiled plan to a terminal state.

It asks the :class:`~main_process.engine.graph.ExecutionGraph` which nodes are
ready, runs them through a :class:`~main_process.engine.node_running.NodeRunner`,
and tells the graph each outcome; the join rules, skips and fast failure live in
the graph (see its module docs for the semantics).

Structured concurrency: every node task belongs to one ``asyncio.TaskGroup``, which
waits for all of them (even when cancelled again while it waits) before the
execution ends. :meth:`ExecutionDriver.cancel` is idempotent, and the first reason
wins: only the first call interrupts the run; later ones, and cancels that arrive
once the outcome is decided, change nothing. The terminal transition is recorded
synchronously after the task group has exited, so no cancel can interrupt it.

Pause: :meth:`ExecutionDriver.pause` records ``paused`` at once; running nodes
finish and are recorded, no new node starts, and the execution keeps its slot.
:meth:`ExecutionDriver.resume` goes on in place. A paused execution that has not
got its slot yet does not start until resumed. An engine shutting down leaves a
paused execution ``paused`` (running nodes end ``cancelled``), so it can be
resumed later, in another process.

Speed: a lone ready node with nothing running is awaited directly, not through a
task (chains); finished tasks report through a callback into a deque (O(1) each).

Assumptions: node code is trusted to return; a blocking ``thread`` runner function
that ignores its timeout keeps its thread busy, but the node fails at the timeout
and never holds the execution open (:mod:`main_process.runners.threads`); a
``process`` runner worker is killed instead. An execution ``timeout`` counts on
while paused.
"""

from __future__ import annotations

import asyncio
from collections import deque
from enum import Enum
from typing import Any

from app.errors import ConductorError, ErrorInfo
from app.states import ExecutionStatus, NodeReason, NodeStatus
from main_process.engine.blueprint_limit import GatedSlots
from main_process.engine.endings import ENDINGS, CancelReason
from main_process.engine.error_handlers import assign_handler
from main_process.engine.execution_state import ExecutionState
from main_process.engine.graph import ExecutionGraph
from main_process.engine.limiter import Limiter
from main_process.engine.node_running import NodeEnv, NodeRunner, Outcome
from main_process.engine.nodes_view import NodesView
from main_process.engine.outputs import execution_outputs
from main_process.engine.plan import Plan
from main_process.engine.scope import RunScope
from main_process.engine.store_errors import store_error as _store_error
from main_process.runners.tracebacks import format_traceback
from main_process.streams.execution import ExecutionStreams, settled_output

_COMPLETED, _CANCELLED, _SKIPPED = NodeStatus.COMPLETED, NodeStatus.CANCELLED, NodeStatus.SKIPPED


class Phase(Enum):
    """Where the driver is; control requests act only before ``CLOSING``."""

    NEW = "new"
    QUEUED = "queued"
    RUNNING = "running"
    CLOSING = "closing"
    DONE = "done"


class ExecutionDriver:
    """Runs one execution to a terminal state, recording every step.

    ``slots`` is the engine's limit on executions at once: the execution first
    waits for one, ``pending`` (queued executions start in order). ``scope``
    holds ``{node_id: (output, port)}`` recorded by an earlier run (resume), lent
    by ``reused_from`` (run from a node) or pinned, the nodes a partial run
    selects, and what to record for the lent ones (see
    :mod:`main_process.engine.scope`).
    """

    def __init__(
        self,
        plan: Plan,
        env: NodeEnv,
        *,
        concurrency: int,
        slots: Limiter | GatedSlots | None = None,
        scope: RunScope | None = None,
    ) -> None:
        self.plan = plan
        self.states = env.states
        self.state = env.state
        self.execution_id = env.state.execution_id
        self.concurrency = max(1, concurrency)
        self.slots = slots
        self.scope = scope = scope or RunScope()
        by_id = plan.by_id
        self.graph = ExecutionGraph(
            plan.nodes,
            sequential=plan.sequential,
            inputs=env.state.inputs,
            completed={by_id[nid].index: value for nid, value in scope.completed.items()},
            disabled=[node.index for node in plan.nodes if node.spec.disabled],
            selected=None if scope.selected is None else [by_id[n].index for n in scope.selected],
        )
        if plan.streams:  # a stream's stages run at once, each waiting on the next
            env.streams = ExecutionStreams(plan, self.graph, self._wake)
            self.concurrency = max(self.concurrency, len(plan.nodes))
        self.nodes = NodeRunner(env, NodesView(plan, self.graph, env.state))
        #: True while the execution waits for a free execution slot (state ``pending``).
        self.queued = False
        #: True while paused: no new node starts.
        self.paused = False
        self.phase = Phase.NEW
        self._reason: CancelReason | None = None
        self._interrupted = False  # this driver cancelled its own task (once)
        self._error: ErrorInfo | None = None
        self._task: asyncio.Task[Any] | None = None
        self._inline: int | None = None
        self._running: dict[asyncio.Task[Outcome], int] = {}
        self._finished: deque[asyncio.Task[Outcome]] = deque()
        self._wakeup: asyncio.Future[None] | None = None

    # -- control -------------------------------------------------------------------

    @property
    def reason(self) -> CancelReason | None:
        """The first reason the execution was cancelled for, if it was."""
        return self._reason

    def cancel(self, reason: CancelReason = CancelReason.USER) -> bool:
        """Stop the execution; idempotent (the first reason wins). False once its
        outcome is decided (it is finishing or finished) and a cancel changes nothing."""
        if self.phase is Phase.CLOSING or self.phase is Phase.DONE:
            return False
        if self._reason is not None:
            return True
        self._reason = reason
        task = self._task
        # Not started yet, or asked from inside (a node cancelling its own execution):
        # the scheduler sees the reason at its next step.
        if task is not None and task is not asyncio.current_task():
            self._interrupted = True
            task.cancel()
        return True

    def pause(self) -> bool:
        """Start no new node until :meth:`resume`; records ``paused`` at once."""
        if self._reason is not None or self.phase is Phase.CLOSING or self.phase is Phase.DONE:
            return False
        if not self.paused:
            self.paused = True
            self.states.update_execution_state(self.execution_id, ExecutionStatus.PAUSED)
        return True

    def resume(self) -> bool:
        """Go on after :meth:`pause`, in place; False when not paused."""
        if not self.paused or self._reason is not None or self.phase is Phase.CLOSING:
            return False
        self.paused = False
        status = ExecutionStatus.RUNNING if self.phase is Phase.RUNNING else ExecutionStatus.PENDING
        self.states.update_execution_state(self.execution_id, status)
        self._wake()
        return True

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def _sleep(self) -> None:
        """Wait for a finished node task, a resume or a cancel."""
        self._wakeup = asyncio.get_running_loop().create_future()
        try:
            await self._wakeup
        finally:
            self._wakeup = None

    # -- the run -------------------------------------------------------------------

    async def run(self) -> ExecutionState:
        """Run to a terminal state (``paused`` when shut down while paused).

        Never raises for what the nodes do, nor for :meth:`cancel`; a cancel of the
        calling task from outside ends the execution ``interrupted`` and is then
        re-raised.
        """
        task = self._task = asyncio.current_task()
        assert task is not None
        try:
            if self._reason is None:
                await self._queue()
                try:
                    await self._run_nodes()
                finally:
                    if self.slots is not None:
                        self.slots.release()
        except asyncio.CancelledError:
            pass  # from cancel(), or from outside: told apart below
        except Exception as exc:  # a bug, not a node's failure: end the execution with it
            store_error = _store_error(exc)
            if store_error is not None:  # the record could not be kept: say so, typed
                self._error = store_error.to_info()
            else:
                self._error = ErrorInfo(
                    type=type(exc).__name__, message=str(exc), traceback=format_traceback(exc)
                )
        self.phase = Phase.CLOSING
        self.queued = False
        if self._interrupted:
            task.uncancel()
        external = task.cancelling() > 0
        if external and self._reason is None:
            self._reason = CancelReason.SHUTDOWN
        self._finish()
        self.phase = Phase.DONE
        if external:
            raise asyncio.CancelledError
        return self.state

    async def _queue(self) -> None:
        """Wait (``pending``) for an execution slot, and while paused (holding none);
        a cancel meanwhile ends it with :meth:`cancel`'s CancelledError."""
        self.phase = Phase.QUEUED
        slots = self.slots
        while True:
            while self.paused:
                await self._sleep()
            if slots is None or slots.try_acquire():
                return
            self.queued = True
            try:
                await slots.acquire()
            finally:
                self.queued = False
            if not self._still_paused():
                return
            slots.release()  # paused while queued: wait without holding a slot

    def _still_paused(self) -> bool:
        """``paused`` read afresh after an await (a resume may have come meanwhile)."""
        return self.paused

    async def _run_nodes(self) -> None:
        self.phase = Phase.RUNNING
        states, eid = self.states, self.execution_id
        reused_from, notes = self.scope.reused_from, self.scope.notes
        if reused_from is not None:
            data: dict[str, Any] | None = {"reused_from": reused_from}
        else:
            data = {"resumed": True} if self.graph.resumed and self.nodes.env.resumed else None
        states.update_execution_state(eid, ExecutionStatus.RUNNING, data=data)
        if notes:
            graph = self.graph
            for node in self.plan.nodes:
                note = notes.get(node.id)
                if note is not None:
                    states.update_node_state(
                        eid,
                        node.id,
                        _COMPLETED,
                        attempt=0,
                        output=graph.outputs[node.index],
                        port=graph.ports[node.index],
                        data=note,
                    )
            await states.commit_held(eid)  # lent completions are durable before use
        async with asyncio.TaskGroup() as group:
            await self._schedule(group)
            # Fast failure (or a cancel a node swallowed): stop the rest; the group
            # waits for them. On a CancelledError the group cancels them itself.
            self.phase = Phase.CLOSING
            for running in self._running:
                running.cancel()

    async def _schedule(self, group: asyncio.TaskGroup) -> None:
        graph, nodes, runner = self.graph, self.plan.nodes, self.nodes
        running, finished = self._running, self._finished
        limit, streams = self.concurrency, runner.env.streams
        for index in graph.start():
            self._skip(index)
        while self._reason is None:
            if streams is not None and streams.pending:  # consumers may start now
                for index, stream in streams.take():
                    for skipped in graph.open_stream(index, stream):
                        self._skip(skipped)
            if not self.paused and len(running) < limit:
                batch = graph.ready(limit - len(running))
                if len(batch) == 1 and not running and streams is None:
                    index = batch[0]
                    value, upstream = graph.input_for(index)
                    self._inline = index
                    outcome = await runner.run(nodes[index], value, upstream)
                    self._inline = None
                    self._mark(index, outcome)
                    continue
                for index in batch:
                    value, upstream = graph.input_for(index)
                    task = group.create_task(runner.run(nodes[index], value, upstream))
                    running[task] = index
                    task.add_done_callback(self._task_done)
            if graph.failure is not None:
                return
            if not running and graph.done:
                return
            if not finished and not (streams is not None and streams.pending):
                await self._sleep()
            while finished:
                task = finished.popleft()
                index = running.pop(task)
                try:
                    outcome = task.result()
                except BaseException:  # cancelled, or broken: the group reports the latter
                    self._cancelled(index)
                else:
                    self._mark(index, outcome)

    def _task_done(self, task: asyncio.Task[Outcome]) -> None:
        self._finished.append(task)
        self._wake()

    def _mark(self, index: int, outcome: Outcome) -> None:
        status, output, port = outcome
        for skipped in self.graph.mark(index, status, output, port):
            self._skip(skipped)

    def _skip(self, index: int) -> None:
        """Record a node the graph skipped, saying why when it is not its join rule."""
        graph, node = self.graph, self.plan.nodes[index]
        if self.nodes.env.streams is not None:  # it reads no stream: none waits for it
            self.nodes.env.streams.settled(node.id)
        if graph.passed(index):
            self.states.update_node_state(
                self.execution_id,
                node.id,
                _SKIPPED,
                output=settled_output(graph.outputs[index]),
                data={"reason": NodeReason.DISABLED.value},
            )
        elif graph.outside(index):
            self.states.update_node_state(
                self.execution_id, node.id, _SKIPPED, data={"reason": NodeReason.NOT_IN_RUN.value}
            )
        else:
            self.nodes.record(node, _SKIPPED)

    def _cancelled(self, index: int) -> None:
        """A node whose run was cancelled (or broke): its runner recorded ``cancelled``
        unless it broke before it could."""
        self.graph.mark(index, _CANCELLED)
        node = self.plan.nodes[index]
        if not self.state.nodes[node.id].status.is_terminal:
            self.nodes.record(node, _CANCELLED)

    # -- the end -------------------------------------------------------------------

    def _finish(self) -> None:
        """Record the terminal transition (synchronous: nothing can interrupt it)."""
        graph = self.graph
        if self._inline is not None:  # cancelled while awaited directly
            self._cancelled(self._inline)
            self._inline = None
        for task, index in self._running.items():
            if task.cancelled() or task.exception() is not None:
                self._cancelled(index)
            else:
                self._mark(index, task.result())
        self._running.clear()
        self._finished.clear()
        if self._reason is CancelReason.SHUTDOWN and self.paused:
            return  # stays paused, resumable; unstarted nodes stay pending
        for index in graph.cancel_rest():
            self.nodes.record(self.plan.nodes[index], _CANCELLED)
        if self._reason is not None:
            status, error_type, message = ENDINGS[self._reason]
            self._end(status, error_type(message).to_info())
        elif self._error is not None or graph.failure is not None:
            self._end(ExecutionStatus.FAILED, self._error or self._node_error(graph.failure))
        else:
            try:
                outputs = execution_outputs(
                    self.plan,
                    graph,
                    self.scope.target,
                    self.nodes.template_context,
                    self.state.inputs,
                )
            except ConductorError as exc:
                self._end(ExecutionStatus.FAILED, exc.to_info())
                return
            eid = self.execution_id
            self.states.update_execution_state(eid, ExecutionStatus.COMPLETED, outputs=outputs)

    def _node_error(self, index: int | None) -> ErrorInfo | None:
        return None if index is None else self.state.nodes[self.plan.nodes[index].id].error

    def _end(self, status: ExecutionStatus, error: ErrorInfo | None) -> None:
        """Record an unsuccessful end and, in the same write, the handler it owes."""
        owed = assign_handler(self.state, status)
        self.states.update_execution_state(self.execution_id, status, error=error, data=owed)
