"""The ``ipc`` transport: the engine in a spawned worker process, over one pipe.

Each call sends a request with a fresh id and waits on a future kept under that
id; the process handle's reader thread hands replies to the loop with
``call_soon_threadsafe``, so this works on a plain asyncio loop and under qasync.
Results are re-validated into the same models the direct transport returns, and
error replies are rebuilt as the same typed errors.

``events()`` is a subscription with a bounded queue: the worker sends at most the
granted window of batches, and more are granted only as the consumer takes them,
so a slow consumer holds the worker's stream (which pauses without loss, see
:mod:`main_process.events.pipe_stream`) instead of growing memory here.

When the worker dies every waiting call fails with
:class:`~ipc.errors.WorkerDiedError` at once and open event iterators end with it.
The handle restarts the worker under its policy; the new engine marks the
executions that were running ``interrupted``, and ``resume`` completes them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, assert_never

from pydantic import ValidationError

from app.blueprint import Blueprint
from app.errors import (
    ConductorError,
    ConfigError,
    TransportError,
    error_from_info,
)
from app.events import Event
from app.operations import AnyReply, AnyRequest
from app.transport import Transport
from ipc.errors import ProtocolError, WorkerDiedError
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
from ipc.process import RestartPolicy, WorkerProcess, WorkerStatus
from ipc.protocol import DEFAULT_ENTRY_POINT, DEFAULT_EVENT_WINDOW
from ipc.subscription import Subscription

log = logging.getLogger(__name__)

#: What settles a waiting call.
_Answer = ReplyFrame | EventsEndReply | ErrorReply | Heartbeat


def _wire_form(request: AnyRequest) -> AnyRequest:
    """``request`` with its blueprint model as the dict it travels as; code-defined
    nodes cannot leave this process."""
    blueprint = getattr(request, "blueprint", None)
    if not isinstance(blueprint, Blueprint):
        return request
    if any(node.function is not None for node in blueprint.nodes):
        raise ConfigError(
            f"blueprint {blueprint.id!r} has code-defined nodes (create_simple_node); they "
            "run only in the process that built them — use transport='direct', or register "
            "an importable node type",
            where="blueprint",
        )
    data = blueprint.model_dump(mode="json", exclude_none=True)
    return request.model_copy(update={"blueprint": data})


class IpcTransport(Transport):
    """The engine in a worker process (see the module docstring).

    ``home`` and the engine options (``plugins``, ``concurrency``, ``base_dir``, …)
    configure the worker's engine; ``entry_point`` names the worker (tests pass
    misbehaving ones); ``max_restarts``, ``restart_window``, ``stable_start`` and
    ``start_timeout`` make the :class:`~ipc.process.RestartPolicy`; ``on_state``
    hears every :class:`~ipc.process.WorkerStatus` transition.
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        entry_point: str = DEFAULT_ENTRY_POINT,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        stable_start: float = 10.0,
        start_timeout: float = 30.0,
        close_timeout: float = 10.0,
        event_window: int = DEFAULT_EVENT_WINDOW,
        on_state: Callable[[WorkerStatus], None] | None = None,
        **engine_options: Any,
    ) -> None:
        if engine_options.get("base_dir") is not None:
            engine_options["base_dir"] = str(engine_options["base_dir"])
        if engine_options.get("file_roots") is not None:
            engine_options["file_roots"] = [str(root) for root in engine_options["file_roots"]]
        try:
            config = WorkerConfig(
                entry_point=entry_point,
                home=None if home is None else str(home),
                **engine_options,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            place = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"ipc transport: {first['msg']}", where=place) from None
        policy = RestartPolicy(max_restarts, restart_window, stable_start, start_timeout)
        self.process = WorkerProcess(config, listener=self, policy=policy, on_state=on_state)
        self._close_timeout = close_timeout
        self._event_window = event_window
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[_Answer]] = {}
        self._subs: dict[int, Subscription] = {}
        self._closed = False

    # -- the handle's listener (called on the loop) -----------------------------------

    def message_received(self, msg: Message) -> None:
        match msg:
            case ReplyFrame() | EventsEndReply() | ErrorReply() | Heartbeat():
                self._answer(msg)
            case EventBatch():
                sub = self._subs.get(msg.id)
                if sub is None:
                    return  # abandoned; stragglers may still arrive
                if not sub.push(msg):
                    self._end_subscription(
                        msg.id, ProtocolError("the worker sent event batches beyond its credit")
                    )
            case RequestFrame() | EventsRequest() | Credit() | Abandon() | Hello():
                log.warning("ignoring a %s message from the worker", msg.kind)
            case _:
                assert_never(msg)

    def bad_frame_received(self, exc: ProtocolError) -> None:
        rid = exc.request_id
        if rid is not None and rid in self._subs:
            self._end_subscription(rid, exc)
        elif rid is not None and rid in self._pending:
            self._fail(rid, exc)
        else:
            log.warning("the worker sent a bad frame: %s", exc)

    def worker_lost(self, exc: WorkerDiedError) -> None:
        for rid in list(self._pending):
            self._fail(rid, WorkerDiedError(exc.message))
        for rid in list(self._subs):
            self._subs.pop(rid).finish(WorkerDiedError(exc.message))

    def _answer(self, msg: _Answer) -> None:
        if msg.id is None:
            assert isinstance(msg, ErrorReply)
            log.warning("the worker reported: %s", error_from_info(msg.error))
            return
        sub = self._subs.pop(msg.id, None)
        if sub is not None:
            sub.finish(error_from_info(msg.error) if isinstance(msg, ErrorReply) else None)
            return
        future = self._pending.pop(msg.id, None)
        if future is not None and not future.done():
            future.set_result(msg)

    def _fail(self, rid: int, exc: ConductorError) -> None:
        future = self._pending.pop(rid, None)
        if future is not None and not future.done():
            future.set_exception(exc)

    def _end_subscription(self, rid: int, exc: ConductorError) -> None:
        sub = self._subs.pop(rid, None)
        if sub is not None:
            sub.finish(exc)
            self.process.post(encode(Abandon(id=rid)))

    # -- calls ------------------------------------------------------------------------

    async def _ready(self) -> None:
        if self._closed:
            raise TransportError("the ipc transport is closed")
        await self.process.ready()

    async def handle(self, request: AnyRequest) -> AnyReply:
        """Send ``request`` in a frame of its own and wait for the reply to it."""
        frame = RequestFrame(id=next(self._ids), request=_wire_form(request))
        await self._ready()
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self._pending[frame.id] = future
        try:
            await self.process.send(encode(frame))
            reply = await future
        except asyncio.CancelledError:
            if self._pending.pop(frame.id, None) is not None:
                self.process.post(encode(Abandon(id=frame.id)))
            raise
        finally:
            self._pending.pop(frame.id, None)
        if isinstance(reply, ErrorReply):
            raise error_from_info(reply.error)
        if not isinstance(reply, ReplyFrame):
            raise ProtocolError(
                f"expected the reply to request {frame.id}, got a {reply.kind}",
                request_id=frame.id,
            )
        return reply.reply

    async def ping(self) -> float:
        """Round-trip one heartbeat through the worker; returns the seconds it took."""
        await self._ready()
        loop = asyncio.get_running_loop()
        rid = next(self._ids)
        future: asyncio.Future[_Answer] = loop.create_future()
        self._pending[rid] = future
        began = loop.time()
        try:
            self.process.check_alive()
            self.process.post(encode(Heartbeat(id=rid)))
            await future
        finally:
            self._pending.pop(rid, None)
        return loop.time() - began

    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        return self._events(execution_id, after_seq)

    async def _events(self, execution_id: str, after_seq: int) -> AsyncIterator[Event]:
        await self._ready()
        rid, window = next(self._ids), self._event_window
        sub = Subscription(window)
        self._subs[rid] = sub
        threshold = max(1, window // 2)
        taken = 0
        try:
            request = EventsRequest(
                id=rid, execution_id=execution_id, after_seq=after_seq, window=window
            )
            await self.process.send(encode(request))
            while (batch := await sub.next_batch()) is not None:
                taken += 1
                if taken >= threshold and not sub.ended:
                    self.process.post(encode(Credit(id=rid, batches=taken)))
                    taken = 0
                for event in batch.events:
                    yield event
        finally:
            if self._subs.pop(rid, None) is not None:
                self.process.post(encode(Abandon(id=rid)))

    async def close(self) -> None:
        """Close the pipe and wait for the worker to exit (it closes its engine on EOF)."""
        if self._closed:
            return
        self._closed = True
        closed = TransportError("the ipc transport was closed while this call waited")
        for rid in list(self._pending):
            self._fail(rid, closed)
        for sub in self._subs.values():
            sub.finish(closed)
        self._subs.clear()
        await self.process.close(self._close_timeout)
