"""The main process: an engine served over the renderer's pipe.

``serve(conn, options)`` is the entry point the process handle names as
``"main_process.worker:serve"`` and starts with the ``spawn`` method. It runs one
:class:`~main_process.engine.engine.Engine` on its own asyncio loop:

* a reader thread receives frames and hands them to the loop with
  ``call_soon_threadsafe``; every request becomes a task, so many run at once and
  ``cancel`` works while an ``execute`` waits; an operation is answered by
  :func:`main_process.direct.dispatch`, the same ``match`` the direct transport
  uses, and only the event subscription is the pipe's own;
* replies and event batches go out through a writer thread with a bounded queue,
  so a full pipe never blocks the loop (see :mod:`ipc.framing`), and subscriptions
  pull from the engine's event cursor only while the client has credit (see
  :mod:`main_process.events.pipe_stream`);
* a frame that is not a valid message gets an ``error`` reply with a
  :class:`~ipc.errors.ProtocolError` (to its request id when it can be read), and
  the worker keeps serving;
* ``hello`` is sent once the engine is open; EOF on the pipe (the renderer closed
  its end, or died) closes the engine — running executions end ``interrupted`` —
  and the process exits.

Nothing here imports Qt: the spawn child's import path stays light.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, assert_never

from app.errors import ConductorError, ErrorInfo
from app.gc_pause import collector_paused
from app.pydantic_plugins import skip_plugin_discovery
from app.redaction import REDACTOR
from ipc.errors import ProtocolError
from ipc.framing import FrameWriter, shutdown_both, start_reader
from ipc.messages import (
    Abandon,
    Credit,
    ErrorReply,
    EventBatch,
    EventsEndReply,
    EventsRequest,
    Heartbeat,
    Hello,
    Message,
    ReplyFrame,
    RequestFrame,
    WorkerConfig,
    encode,
)
from main_process.direct import dispatch
from main_process.engine.engine import Engine
from main_process.events.pipe_stream import EventStream

log = logging.getLogger(__name__)

#: How long the worker waits at exit for its last frames to reach the client.
_DRAIN_SECONDS = 2.0


def serve(conn: Connection, options: dict[str, Any]) -> None:
    """Process entry point: serve until the client's end of the pipe closes, then exit.

    Not ``asyncio.run``: its exit waits for the default executor's threads, and a
    blocking node function still running there (cancelled, but a thread cannot be
    stopped) would hold the process open. The engine is closed and its store
    committed by then, so the process leaves with ``os._exit``.
    """
    # Our own process: no pydantic plugins, so its first model build neither imports
    # importlib.metadata nor scans every installed distribution's entry points.
    skip_plugin_discovery()
    code = 0
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_main(conn, WorkerConfig.model_validate(options)))
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _engine(config: WorkerConfig) -> Engine:
    options: dict[str, Any] = {"plugins": config.plugins}
    for key in (
        "concurrency",
        "global_concurrency",
        "max_executions",
        "max_threads",
        "max_processes",
        "dask_scheduler",
    ):
        value = getattr(config, key)
        if value is not None:
            options[key] = value
    if config.base_dir is not None:
        options["base_dir"] = Path(config.base_dir)
    if config.file_roots is not None:
        options["file_roots"] = [Path(root) for root in config.file_roots]
    return Engine(config.home, **options)


async def _main(conn: Connection, config: WorkerConfig) -> None:
    loop = asyncio.get_running_loop()
    writer = FrameWriter(conn, loop, name="conductor-worker-writer")
    try:
        with collector_paused():  # opening: long-lived objects only (see app.gc_pause)
            engine = _engine(config)
    except Exception as exc:  # say why before exiting: the handle reports it
        conn.send_bytes(encode(ErrorReply(id=None, error=_error_info(exc))))
        raise
    worker = Worker(engine, writer, config.max_frame_bytes)
    if config.triggers:
        engine.triggers.start_runtime()  # stopped by engine.close
    engine.handlers.sweep_soon()  # handlers owed by runs of owners that died
    reader = start_reader(
        conn,
        loop,
        max_bytes=config.max_frame_bytes,
        on_message=worker.on_message,
        on_bad_frame=worker.on_bad_frame,
        on_eof=worker.stop,
        name="conductor-worker-reader",
    )
    await writer.send(encode(Hello(pid=os.getpid())))
    try:
        await worker.stopped.wait()
    finally:
        await worker.close()
        writer.close()
        await loop.run_in_executor(None, writer.join, _DRAIN_SECONDS)
        shutdown_both(conn)
        await loop.run_in_executor(None, reader.join, _DRAIN_SECONDS)
        conn.close()


def _error_info(exc: BaseException) -> ErrorInfo:
    """The error reply's record, secret values masked (:mod:`app.redaction`)."""
    if isinstance(exc, ConductorError):
        info = exc.to_info()
    else:
        info = ErrorInfo(
            type=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            traceback="".join(traceback.format_exception(exc)),
        )
    return REDACTOR.error(info) or info


class Worker:
    """Routes one client's messages to the engine and the answers back."""

    def __init__(self, engine: Engine, writer: FrameWriter, max_frame_bytes: int) -> None:
        self.engine = engine
        self._writer = writer
        self._max = max_frame_bytes
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._streams: dict[int, EventStream] = {}
        self.stopped = asyncio.Event()

    # -- from the reader thread (already on the loop) ---------------------------------

    def on_message(self, msg: Message) -> None:
        match msg:
            case RequestFrame() | EventsRequest():
                if msg.id in self._tasks:
                    self._post_error(
                        msg.id,
                        ProtocolError(f"request id {msg.id} is already in use", where="frame.id"),
                    )
                    return
                self._tasks[msg.id] = asyncio.get_running_loop().create_task(self._serve(msg))
            case Credit():
                stream = self._streams.get(msg.id)
                if stream is not None:
                    stream.grant(msg.batches)
            case Abandon():
                running = self._tasks.get(msg.id)
                if running is not None:
                    running.cancel()
            case Heartbeat():
                self._writer.post(encode(msg))
            case ReplyFrame() | EventsEndReply() | ErrorReply() | EventBatch() | Hello():
                self._post_error(
                    getattr(msg, "id", None),
                    ProtocolError(
                        f"{'an' if msg.kind in ('error', 'events') else 'a'} {msg.kind} message "
                        "only travels from the worker",
                        where="frame.kind",
                    ),
                )
            case _:
                assert_never(msg)

    def on_bad_frame(self, exc: ProtocolError) -> None:
        self._post_error(exc.request_id, exc)

    def stop(self) -> None:
        self.stopped.set()

    # -- serving ----------------------------------------------------------------------

    def _post_error(self, request_id: int | None, exc: BaseException) -> None:
        self._writer.post(encode(ErrorReply(id=request_id, error=_error_info(exc))))

    async def _send(self, msg: Message) -> None:
        try:
            frame = encode(msg, max_bytes=self._max)
        except ConductorError as exc:  # too large, or text no JSON writer takes
            rid = getattr(msg, "id", None)
            frame = encode(ErrorReply(id=rid, error=exc.to_info()))
        await self._writer.send(frame)

    async def _serve(self, frame: RequestFrame | EventsRequest) -> None:
        try:
            reply: Message
            try:
                if isinstance(frame, EventsRequest):
                    reply = EventsEndReply(id=frame.id, result=await self._stream(frame))
                else:
                    answer = await dispatch(self.engine, frame.request)
                    reply = ReplyFrame(id=frame.id, reply=answer)
            except Exception as exc:
                reply = ErrorReply(id=frame.id, error=_error_info(exc))
            await self._send(reply)
        except asyncio.CancelledError:
            pass  # abandoned by the client, or the worker is stopping: nobody listens
        finally:
            self._tasks.pop(frame.id, None)

    async def _stream(self, request: EventsRequest) -> int:
        stream = EventStream(self.engine, request, self._writer.send, max_frame_bytes=self._max)
        self._streams[request.id] = stream
        try:
            return await stream.run()
        finally:
            del self._streams[request.id]

    async def close(self) -> None:
        """Drop pending requests, then close the engine (its runs end ``interrupted``)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self.engine.close()
        except Exception:
            log.exception("the engine did not close cleanly")
