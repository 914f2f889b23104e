"""The worker process handle: spawn, notice death at once, restart within limits.

Modelled on jupyter_client's ``KernelManager`` + ``KernelRestarter``, without the
heartbeat polling: death is noticed by EOF on the pipe (or the process sentinel),
which arrives the moment the kernel closes a dead process's files. The chain is
explicit and reported through ``on_state`` callbacks:

``starting → ready → dead → restarting → starting → ready …`` or ``… dead → gave_up``.

Restart policy (:class:`RestartPolicy`): a worker that dies is restarted at once,
unless it has already been restarted ``max_restarts`` times within ``window``
seconds — a crash loop — and then the handle gives up and says why. A worker that
had been ready for ``stable_start`` seconds had a stable start, so its death
forgets the earlier restarts (as jupyter_client's ``stable_start_time``). A worker
that exits before its ``hello``, or sends none within ``start_timeout``, is a
failed start and counts like any other death.

The parent closes its copy of the child's end of the pipe right after starting
the child; otherwise EOF would never come. The dead child is reaped before a new
one starts, so the new engine sees the old pid gone and marks its executions
``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol

from app.errors import TransportError
from ipc.bootstrap import run_entry_point
from ipc.errors import ProtocolError, WorkerDiedError
from ipc.framing import FrameWriter, shutdown_both, shutdown_write, start_reader
from ipc.messages import ErrorReply, Hello, Message, WorkerConfig

log = logging.getLogger(__name__)


class WorkerState(StrEnum):
    """Where the worker process is in its life, as the status bar shows it."""

    STARTING = "starting"  #: spawned, waiting for its hello
    READY = "ready"  #: serving requests
    DEAD = "dead"  #: it just ended; a restart may follow
    RESTARTING = "restarting"  #: the policy allowed another start
    GAVE_UP = "gave_up"  #: too many deaths; calls fail until restart()
    CLOSED = "closed"  #: closed on purpose


@dataclass(frozen=True)
class WorkerStatus:
    """One transition: the new state, why, and which process."""

    state: WorkerState
    reason: str = ""
    pid: int | None = None
    restarts: int = 0


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a worker that died (see the module docstring)."""

    max_restarts: int = 5
    window: float = 60.0
    stable_start: float = 10.0
    start_timeout: float = 30.0


class WorkerListener(Protocol):
    """What the handle tells its client (all called on the loop)."""

    def message_received(self, msg: Message) -> None: ...

    def bad_frame_received(self, exc: ProtocolError) -> None: ...

    def worker_lost(self, exc: WorkerDiedError) -> None: ...


@contextlib.contextmanager
def _parent_main_hidden() -> Iterator[None]:
    """Spawn re-runs the parent's ``__main__`` in the child (a GUI script with Qt,
    pytest, a benchmark). The worker is named by its entry point and never needs it,
    so the child is started as if the parent had no main script."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "closed its pipe but is still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass(eq=False)
class _Life:
    """One spawned process and its pipe."""

    process: BaseProcess
    conn: Connection
    writer: FrameWriter
    hello: asyncio.Future[Hello]
    ended: asyncio.Future[str]
    reader: threading.Thread | None = None
    started: float = field(default_factory=time.monotonic)
    ready_at: float | None = None
    startup_error: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid


class WorkerProcess:
    """Spawns the worker named by ``config.entry_point`` and keeps one alive.

    Use from one asyncio loop (plain or qasync). :meth:`ready` starts it on first
    use and waits for its hello; :meth:`send` and :meth:`post` write frames to it.
    """

    def __init__(
        self,
        config: WorkerConfig,
        *,
        listener: WorkerListener,
        policy: RestartPolicy | None = None,
        on_state: Callable[[WorkerStatus], None] | None = None,
    ) -> None:
        self.config = config
        self.policy = policy or RestartPolicy()
        self._listener = listener
        self._callbacks: list[Callable[[WorkerStatus], None]] = [on_state] if on_state else []
        self.status = WorkerStatus(WorkerState.CLOSED, "not started")
        self._life: _Life | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._changed: asyncio.Future[None] | None = None
        self._history: deque[float] = deque()
        self._closing = False

    # -- public -----------------------------------------------------------------------

    def add_state_callback(self, callback: Callable[[WorkerStatus], None]) -> None:
        self._callbacks.append(callback)

    @property
    def pid(self) -> int | None:
        return self._life.pid if self._life is not None else None

    @property
    def closing(self) -> bool:
        return self._closing

    async def ready(self) -> None:
        """Wait until a worker is serving; WorkerDiedError when the handle gave up."""
        if self._supervisor is None and not self._closing:
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        while True:
            state = self.status.state
            life = self._life
            if state is WorkerState.READY and life is not None and not life.ended.done():
                return
            if self._closing:
                raise TransportError("the worker process handle is closed")
            if state is WorkerState.GAVE_UP:
                raise WorkerDiedError(self.status.reason)
            if self._changed is None or self._changed.done():
                self._changed = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._changed)

    def _serving(self) -> _Life:
        life = self._life
        if life is None or life.ended.done() or life.ready_at is None:
            raise WorkerDiedError(f"the worker is not running ({self.status.state.value})")
        return life

    def check_alive(self) -> None:
        """WorkerDiedError unless a worker is serving right now."""
        self._serving()

    async def send(self, frame: bytes) -> None:
        """Write a frame, waiting for room if the worker is slow to read (back-pressure);
        WorkerDiedError when no worker is serving."""
        await self._serving().writer.send(frame)

    def post(self, frame: bytes) -> None:
        """Send a small control frame without waiting; dropped when no worker serves."""
        life = self._life
        if life is not None and not life.ended.done():
            life.writer.post(frame)

    async def restart(self) -> None:
        """Start afresh with a clean restart count (after gave_up, or to recycle)."""
        if self._closing:
            raise TransportError("the worker process handle is closed")
        self._history.clear()
        if self._supervisor is None or self._supervisor.done():
            self._set_state(WorkerState.RESTARTING, "restart requested")
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
            await self.ready()
            return
        life = self._life
        if life is not None and not life.ended.done():
            life.process.kill()
        await self.ready()

    async def close(self, timeout: float = 10.0) -> None:
        """Close the pipe and wait for the worker to exit (it closes its engine on EOF);
        terminate it if it has not gone within ``timeout`` seconds."""
        if self._closing:
            return
        self._closing = True
        life = self._life
        if life is not None and not life.ended.done():
            life.writer.close()
            shutdown_write(life.conn)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(life.ended), timeout)
            if not life.ended.done():
                await self._stop(life)
        if self._supervisor is not None:
            await self._supervisor  # returns once its current life has ended
        self._set_state(WorkerState.CLOSED, "closed")

    # -- supervision ------------------------------------------------------------------

    def _set_state(self, state: WorkerState, reason: str = "") -> None:
        self.status = WorkerStatus(state, reason, self.pid, len(self._history))
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        for callback in list(self._callbacks):
            try:
                callback(self.status)
            except Exception:
                log.exception("worker state callback failed")

    def _spawn(self) -> _Life:
        loop = asyncio.get_running_loop()
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=run_entry_point,
            args=(child, self.config.model_dump()),
            name="conductor-worker",
            daemon=True,
        )
        with _parent_main_hidden():
            process.start()
        child.close()  # else EOF never comes: this process would hold the child's end
        life = _Life(
            process=process,
            conn=parent,
            writer=FrameWriter(parent, loop, name="conductor-client-writer"),
            hello=loop.create_future(),
            ended=loop.create_future(),
        )

        def reap() -> None:
            process.join(1.0)

        def on_eof() -> None:
            self._on_eof(life)

        life.reader = start_reader(
            parent,
            loop,
            max_bytes=self.config.max_frame_bytes,
            on_message=lambda msg: self._on_message(life, msg),
            on_bad_frame=lambda exc: self._on_bad_frame(life, exc),
            on_eof=on_eof,
            sentinel=process.sentinel,
            before_eof=reap,
            name="conductor-client-reader",
            prepare=True,  # the decoder is built while the worker starts
        )
        return life

    def _on_message(self, life: _Life, msg: Message) -> None:
        if isinstance(msg, Hello):
            if not life.hello.done():
                life.hello.set_result(msg)
            return
        if life.ready_at is None and isinstance(msg, ErrorReply) and msg.id is None:
            life.startup_error = msg.error.message  # why it could not start
            return
        self._listener.message_received(msg)

    def _on_bad_frame(self, life: _Life, exc: ProtocolError) -> None:
        if life.ready_at is not None:
            self._listener.bad_frame_received(exc)
        elif life.startup_error is None:  # a worker that cannot even greet is a failed start
            life.startup_error = f"it sent a bad frame: {exc}"
            life.process.kill()

    def _on_eof(self, life: _Life) -> None:
        reason = f"the worker (pid {life.pid}) {_describe_exit(life.process.exitcode)}"
        if not life.ended.done():
            life.ended.set_result(reason)
        if life is self._life and life.ready_at is not None and not self._closing:
            self._listener.worker_lost(WorkerDiedError(reason))

    async def _stop(self, life: _Life) -> None:
        """Make sure the process is gone and reaped, then release the pipe."""
        loop = asyncio.get_running_loop()
        if life.process.exitcode is None:
            life.process.terminate()
            await loop.run_in_executor(None, life.process.join, 2.0)
        if life.process.exitcode is None:
            life.process.kill()
            await loop.run_in_executor(None, life.process.join, 5.0)
        life.writer.close()
        shutdown_both(life.conn)
        if life.reader is not None:
            await loop.run_in_executor(None, life.reader.join, 2.0)
        life.conn.close()
        if not life.ended.done():
            life.ended.set_result(f"the worker (pid {life.pid}) was stopped")

    async def _live(self, life: _Life) -> str:
        """Wait for the hello, serve, and return why this life ended."""
        self._set_state(WorkerState.STARTING, f"spawned pid {life.pid}")
        await asyncio.wait(
            (life.hello, life.ended),
            timeout=self.policy.start_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._closing:
            reason = await life.ended  # close() waits for the exit and forces it if need be
        elif life.hello.done():
            life.ready_at = time.monotonic()
            self._set_state(WorkerState.READY, f"pid {life.pid}")
            reason = await life.ended
        elif life.ended.done():
            reason = f"{life.ended.result()} before it was ready"
            if life.startup_error:
                reason += f": {life.startup_error}"
        else:
            reason = (
                f"the worker (pid {life.pid}) sent no hello within {self.policy.start_timeout:g} s"
            )
        await self._stop(life)
        return reason

    async def _supervise(self) -> None:
        while True:
            self._life = life = self._spawn()
            reason = await self._live(life)
            if self.closing:
                return
            self._set_state(WorkerState.DEAD, reason)
            now = time.monotonic()
            if life.ready_at is not None and now - life.ready_at >= self.policy.stable_start:
                self._history.clear()
            while self._history and now - self._history[0] > self.policy.window:
                self._history.popleft()
            if len(self._history) >= self.policy.max_restarts:
                self._set_state(
                    WorkerState.GAVE_UP,
                    f"gave up after {len(self._history)} restart(s) within "
                    f"{self.policy.window:g} s; last: {reason}",
                )
                return
            self._history.append(now)
            self._set_state(
                WorkerState.RESTARTING,
                f"restart {len(self._history)} of {self.policy.max_restarts}: {reason}",
            )
