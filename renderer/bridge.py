"""The Qt adapter over the conductor: calls in tasks, answers as signals.

Like qtconsole's ``QtKernelClient``, :class:`Bridge` owns a plain client (a
:class:`~app.api.Conductor` over the ``ipc`` transport) and only turns what it
hears into Qt signals. Every call is a task on the qasync loop, so the GUI thread
never blocks on the worker; a call that fails ends in ``request_failed``, never in
an exception escaping into Qt.

Events are folded into a :class:`~renderer.monitor.monitor_model.MonitorModel` as
they arrive, and a timer repaints at most ``FLUSH_HZ`` times a second: only the
executions that changed, only their latest state. So 100,000 events cost 100,000
dictionary updates and a few dozen repaints.

When the worker dies, the follow tasks end with ``WorkerDiedError``; those
executions are shown ``interrupted`` and re-read with ``get_execution`` once the
restarted worker is ready (its engine has marked them interrupted by then).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from app.api import Conductor, create_conductor
from app.blueprint import Blueprint
from app.errors import ConductorError
from app.states import ExecutionStatus
from ipc.errors import WorkerDiedError
from ipc.process import WorkerState, WorkerStatus
from renderer.monitor.monitor_model import LOG_LIMIT, MonitorModel

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Repaints per second at most while events stream in.
FLUSH_HZ = 40


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


#: Longest stretch of event processing before the GUI thread gets its loop back.
SLICE_SECONDS = 0.008
#: How far behind a live run the monitor may fall before it skips to the present.
CATCH_UP_SECONDS = 0.1
#: A skipped stretch of events at most this long is read back into the log.
GAP_FILL = 500


class Bridge(QObject):
    """Owns the conductor; re-emits worker states, results and events as signals."""

    #: The worker moved to a state (``starting``, ``ready``, …) with a detail (``pid 4711``).
    worker_state_changed = Signal(str, str)
    #: The engine's node types arrived (a list of NodeTypeInfo).
    node_types_loaded = Signal(list)
    #: An execution started (or resumed) and is being followed: its id.
    execution_started = Signal(str)
    #: The monitor model holds newer state for this execution (coalesced).
    execution_updated = Signal(str)
    #: An execution reached a terminal state: (id, ExecutionResult).
    execution_finished = Signal(str, object)
    #: A call failed: (what was asked, the message to show).
    request_failed = Signal(str, str)

    def __init__(
        self,
        home: Path | None = None,
        *,
        conductor_factory: Callable[..., Conductor] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        factory = conductor_factory or create_conductor
        self.model = MonitorModel()
        self.worker_state = WorkerState.STARTING.value
        self.worker_pid: int | None = None
        self.conductor = factory("ipc", home=home, on_state=self._on_worker_state)
        self._tasks: set[asyncio.Future[Any]] = set()
        self._following: dict[str, asyncio.Future[Any]] = {}
        self._lost: set[str] = set()
        self._closed = False
        self._closing: asyncio.Future[None] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // FLUSH_HZ)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    # -- plumbing -------------------------------------------------------------------

    def submit(self, coro: Coroutine[Any, Any, T], what: str) -> asyncio.Future[T]:
        """Run ``coro`` as a task; a ConductorError becomes ``request_failed(what, …)``."""

        async def guarded() -> T:
            try:
                return await coro
            except ConductorError as exc:
                if not self._closed:
                    self.request_failed.emit(what, _message(exc))
                raise

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        # A task cancelled before it first ran (the window closing) never awaited
        # ``coro``: close it, or Python warns "coroutine ... was never awaited".
        task.add_done_callback(lambda _task: coro.close())
        return task

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, ConductorError):
            log.error("a GUI task failed", exc_info=exc)
            if not self._closed:
                self.request_failed.emit("internal", _message(exc))

    def flush(self) -> None:
        """Tell views about the executions that changed since the last flush (none once
        closing: the window's widgets may be gone by the time a follow task ends)."""
        dirty = self.model.take_dirty()
        if self._closed:
            return
        for execution_id in sorted(dirty):
            self.execution_updated.emit(execution_id)

    def _on_worker_state(self, status: WorkerStatus) -> None:
        self.worker_state = status.state.value
        self.worker_pid = status.pid
        if self._closed:
            return
        detail = f"pid {status.pid}" if status.state is WorkerState.READY else status.reason
        self.worker_state_changed.emit(status.state.value, detail)
        if status.state is WorkerState.READY and self._lost:
            lost, self._lost = sorted(self._lost), set()
            for execution_id in lost:
                self.submit(self._refresh(execution_id), "refresh")

    # -- calls ----------------------------------------------------------------------

    def load_node_types(self) -> asyncio.Future[None]:
        async def load() -> None:
            self.node_types_loaded.emit(await self.conductor.node_types())

        return self.submit(load(), "node types")

    def run(
        self,
        blueprint: Blueprint,
        inputs: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
    ) -> asyncio.Future[str]:
        """Start ``blueprint`` and follow it; the task's result is the execution id."""

        async def start() -> str:
            execution_id = await self.conductor.start(
                blueprint=blueprint, inputs=inputs or {}, config=config or {}
            )
            self.model.ensure(execution_id, blueprint.id)
            self.model.seed_nodes(execution_id, [spec.id for spec in blueprint.nodes])
            self.follow(execution_id)
            return execution_id

        return self.submit(start(), "run")

    def follow(self, execution_id: str) -> None:
        """Follow an execution's events into the model until its terminal event."""
        if execution_id in self._following:
            return
        self.model.ensure(execution_id)
        self.execution_started.emit(execution_id)
        task = self.submit(self._follow(execution_id), "events")
        self._following[execution_id] = task

    def is_following(self, execution_id: str) -> bool:
        return execution_id in self._following

    async def _follow(self, execution_id: str) -> None:
        view = self.model.ensure(execution_id)
        try:
            while await self._follow_until_behind(execution_id):
                # More than CATCH_UP_SECONDS behind a live run: the queued events would
                # only replay the past. Take the recorded state of every node instead
                # and follow on from the newest event (the log tail skips the rest).
                result = await self.conductor.get_execution(execution_id)
                before, newest = view.last_seq, result.last_seq or view.last_seq
                self.model.load_result(result)
                self.model.skip_to(execution_id, newest, newest - before)
                if 0 < newest - before <= GAP_FILL:
                    await self._fill_log(execution_id, before, newest)
                self.flush()
                if result.status.is_terminal:
                    break
        except WorkerDiedError:
            view.status = ExecutionStatus.INTERRUPTED
            self._lost.add(execution_id)
            self.model.mark_dirty(execution_id)
            self.flush()
            return
        finally:
            self._following.pop(execution_id, None)
        result = await self.conductor.get_execution(execution_id)
        self.model.load_result(result)
        self.flush()
        if not self._closed:
            self.execution_finished.emit(execution_id, result)

    def load_past_log(self, execution_id: str, last_seq: int) -> None:
        """A past run never followed here (a trigger's, a child's, another process's):
        read its recorded log tail (at most ``LOG_LIMIT`` events) so the monitor shows
        what happened, not "0 events"."""
        view = self.model.ensure(execution_id)
        if view.log or last_seq <= 0 or execution_id in self._following:
            return

        async def read() -> None:
            await self._fill_log(execution_id, max(0, last_seq - LOG_LIMIT), last_seq)
            view.events_seen = max(view.events_seen, last_seq)
            view.last_seq = max(view.last_seq, last_seq)
            self.model.mark_dirty(execution_id)
            self.flush()

        self.submit(read(), "events")

    async def _fill_log(self, execution_id: str, after: int, upto: int) -> None:
        """Read the events ``after < seq <= upto`` a catch-up jumped over into the log.

        Not only floods look "behind": after a Resume the events recorded while the
        worker was away are old by the clock, and the Log showed #1-#8 of 11. A small
        gap is no flood, so it is read back from the store.
        """
        events = []
        stream = self.conductor.events(execution_id, after)
        try:
            async for event in stream:
                if event.seq > upto:
                    break
                events.append(event)
                if event.seq == upto:
                    break
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        self.model.fill_log(execution_id, events)

    async def _follow_until_behind(self, execution_id: str) -> bool:
        """Fold events into the model until the stream ends (False) or falls more
        than ``CATCH_UP_SECONDS`` behind a live run (True)."""
        view = self.model.ensure(execution_id)
        loop = asyncio.get_running_loop()
        # Events that are already queued are taken without suspending, so a flood could
        # hold the GUI thread for as long as its backlog lasts: hand the loop back to
        # Qt every few milliseconds of work.
        slice_end = loop.time() + SLICE_SECONDS
        stream = self.conductor.events(execution_id, view.last_seq)
        try:
            async for event in stream:
                self.model.apply(event)
                now = loop.time()
                if now > slice_end:
                    if time.time() - event.ts > CATCH_UP_SECONDS and not event.is_terminal:
                        return True
                    await asyncio.sleep(0)
                    slice_end = loop.time() + SLICE_SECONDS
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return False

    async def _refresh(self, execution_id: str) -> None:
        result = await self.conductor.get_execution(execution_id)
        self.model.load_result(result)
        self.flush()
        if result.status.is_terminal:
            if not self._closed:
                self.execution_finished.emit(execution_id, result)
        else:
            self.follow(execution_id)

    def refresh(self, execution_id: str) -> asyncio.Future[None]:
        """Re-read an execution from the store into the model."""
        return self.submit(self._refresh(execution_id), "refresh")

    def cancel(self, execution_id: str) -> asyncio.Future[bool]:
        return self.submit(self.conductor.cancel(execution_id), "cancel")

    def pause(self, execution_id: str) -> asyncio.Future[bool]:
        """Ask a running execution to start no new node; it stays followed (paused is
        not an end) and its ``paused`` event updates the model like any other."""
        return self.submit(self.conductor.pause(execution_id), "pause")

    def resume(self, execution_id: str) -> asyncio.Future[None]:
        """Continue a paused execution, or resume an interrupted (or failed) one, and
        follow it again."""

        async def resume() -> None:
            await self.conductor.resume(execution_id, wait=False)
            view = self.model.ensure(execution_id)
            view.finished_at = None
            self.follow(execution_id)

        return self.submit(resume(), "resume")

    async def close(self) -> None:
        """Stop following and close the conductor (the worker exits on EOF).

        Safe to call more than once: later calls wait for the first one to finish.
        """
        if self._closing is None:
            self._closed = True
            self._timer.stop()
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.conductor.close()
