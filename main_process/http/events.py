"""An execution's events over HTTP: a JSON list, or a Server-Sent Events stream.

The stream carries one SSE message per event, ``id:`` set to the event's ``seq``,
so a client that loses the connection reconnects with ``Last-Event-ID`` and
misses nothing (seqs are gap-free per execution). It ends after the execution's
last terminal event with an ``event: end`` message (also sent when the execution
runs in another process, so this server cannot follow it). A resumed execution's
record holds an earlier terminal event (``interrupted``) before the events of its
resumed run, so neither end may stop at the first terminal event it sees: the
engine's stream knows when the execution is over. ``event: error`` carries the
usual error body. A request for an
execution that is finished and has nothing after the given seq gets ``204``,
which also stops a browser's ``EventSource`` from reconnecting forever.

Memory per connection is bounded: :class:`EventPump` copies events from the
engine into a buffer of at most ``limit`` events. When a client stops reading,
the socket's send buffer fills, the stream stops taking from the pump, and the
pump — rather than let the engine queue grow — closes its engine subscription
and waits. Once the client has drained half the buffer, the pump re-subscribes
from the last seq it buffered; the engine replays what was missed from its
records. So a slow client costs a bounded buffer, never a copy of the run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable

from app.errors import ConductorError, ConfigError, ErrorInfo
from app.events import Event
from main_process.engine.engine import Engine
from main_process.http.errors import error_bytes

#: Events one connection may hold before the pump pauses its subscription.
DEFAULT_BUFFER_EVENTS = 1024
#: An idle stream sends a comment this often, so proxies and clients see it alive.
KEEPALIVE_SECONDS = 15.0

#: What a pump reads from: ``Engine.events`` (execution id, after seq) → events.
EventFeed = Callable[[str, int], AsyncIterator[Event]]


class EventPump:
    """Follows one execution's events into a bounded buffer (see the module docs)."""

    def __init__(self, source: EventFeed, execution_id: str, after_seq: int, limit: int) -> None:
        self._source = source
        self._execution_id = execution_id
        self._limit = max(limit, 2)
        self._buffer: deque[Event] = deque()
        self._readable = asyncio.Event()
        self._drained = asyncio.Event()
        self._done = False
        self._error: BaseException | None = None
        #: The seq of the last event taken into the buffer.
        self.last_seq = after_seq
        #: True when the last event buffered is a terminal one.
        self.reached_terminal = False
        #: How often the subscription was paused because the buffer was full.
        self.pauses = 0
        #: The most events the buffer held at once.
        self.high_water = 0

    async def run(self) -> None:
        """Fill the buffer until the terminal event (or the engine's stream) ends."""
        try:
            while not self._done:
                if not await self._follow():
                    break
                self.pauses += 1
                self._drained.clear()
                await self._drained.wait()
        except Exception as exc:
            self._error = exc
        finally:
            self._done = True
            self._readable.set()

    async def _follow(self) -> bool:
        """One subscription; True when it stopped because the buffer was full."""
        stream = self._source(self._execution_id, self.last_seq)
        try:
            async for event in stream:
                if event.seq <= self.last_seq:
                    continue
                if len(self._buffer) >= self._limit:
                    return True
                self._buffer.append(event)
                self.high_water = max(self.high_water, len(self._buffer))
                self.last_seq = event.seq
                self.reached_terminal = event.is_terminal
                self._readable.set()
            return False
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    async def take(self) -> list[Event] | None:
        """Every buffered event (waiting for at least one); None once nothing more comes."""
        while not self._buffer:
            if self._done:
                if self._error is not None:
                    raise self._error
                return None
            self._readable.clear()
            await self._readable.wait()
        events = list(self._buffer)
        self._buffer.clear()
        self._drained.set()
        return events


def sse_message(event: Event) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (event.seq, event.model_dump_json().encode())


def sse_error(info: ErrorInfo) -> bytes:
    """An ``error`` message whose data is the usual ``{"error": {...}}`` document."""
    return b"event: error\ndata: %s\n\n" % error_bytes(info)


async def sse_stream(
    engine: Engine,
    execution_id: str,
    after_seq: int,
    *,
    limit: int = DEFAULT_BUFFER_EVENTS,
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[bytes]:
    """The SSE body: buffered events in one chunk per wake-up, keep-alives while idle."""
    pump = EventPump(engine.events, execution_id, after_seq, limit)
    task = asyncio.get_running_loop().create_task(pump.run())
    try:
        yield b"retry: 1000\n\n"
        while True:
            try:
                async with asyncio.timeout(keepalive):
                    events = await pump.take()
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            except ConductorError as exc:
                yield sse_error(exc.to_info())
                return
            except Exception as exc:
                info = ErrorInfo(
                    type=ConductorError.type_name,
                    message=f"event stream failed ({type(exc).__name__}): {exc}",
                )
                yield sse_error(info)
                return
            if events is None:
                yield b"event: end\ndata: {}\n\n"
                return
            yield b"".join(sse_message(e) for e in events)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def recorded_events(engine: Engine, execution_id: str, after_seq: int) -> list[Event]:
    """The events recorded so far after ``after_seq``, without waiting for more."""
    return await engine.recorded_events(execution_id, after_seq)


async def nothing_more(engine: Engine, execution_id: str, after_seq: int) -> bool:
    """True when the execution is finished and has no event after ``after_seq``
    (raises ExecutionNotFoundError when unknown)."""
    if engine.is_active(execution_id):
        return False
    return (
        not await engine.recorded_events(execution_id, after_seq, 1)
        and (await engine.get_execution(execution_id)).status.is_terminal
    )


def event_list_bytes(events: list[Event]) -> bytes:
    return b"[" + b",".join(e.model_dump_json().encode() for e in events) + b"]"


def parse_last_event_id(value: str | None) -> int | None:
    """The seq in a ``Last-Event-ID`` header; ConfigError when it is not one."""
    if value is None or not value.strip():
        return None
    try:
        seq = int(value.strip())
    except ValueError:
        seq = -1
    if seq < 0:
        raise ConfigError(
            f"Last-Event-ID must be an event seq, got {value!r}", where="Last-Event-ID"
        )
    return seq
