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

Memory per connection is about a page: :class:`EventPump` pulls pages of at most
``limit`` events from the engine's event cursor (:mod:`main_process.events.cursor`)
and holds one, encoded, until the response takes it. When a client stops
reading, the socket's send buffer fills, the response stops taking, and the pump
stops pulling; the cursor reads what happened meanwhile from the record when it
pulls again. So a slow client costs a page, never a copy of the run — and all
clients together cost at most the server's event-stream budget
(:mod:`main_process.http.sse_budget`), past which the ones furthest behind are
dropped and resume with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar, overload

from app.errors import ConductorError, ConfigError, ErrorInfo
from app.events import Event
from app.json_values import model_json
from main_process.engine.engine import Engine
from main_process.engine.execution_state import event_from_row
from main_process.events.cursor import EventCursor
from main_process.http.errors import error_bytes
from main_process.http.sse_budget import SseBudget, SseEncoder, row_is_terminal
from main_process.store.chunks import EventRow

#: Events one page (and so one connection) holds at most.
DEFAULT_BUFFER_EVENTS = 256
#: An idle stream sends a comment this often, so proxies and clients see it alive.
KEEPALIVE_SECONDS = 15.0

#: What a pump reads from: ``Engine.cursor`` (execution id, after seq) → a cursor.
CursorOpener = Callable[[str, int], Awaitable[EventCursor]]

PageT = TypeVar("PageT")


def event_page(rows: list[EventRow]) -> list[Event]:
    return [event_from_row(row) for row in rows]


class EventPump(Generic[PageT]):
    """Pulls one execution's events a page at a time (see the module docs).

    It runs as its own task so that the response can send keep-alives while the
    execution is quiet; it holds at most one page, pulled when the response asks
    for the next, as ``encode`` makes it of the cursor's rows (Event models unless
    told otherwise; the SSE stream holds its bytes).
    """

    @overload
    def __init__(
        self: EventPump[list[Event]],
        source: CursorOpener,
        execution_id: str,
        after_seq: int,
        limit: int,
    ) -> None: ...

    @overload
    def __init__(
        self,
        source: CursorOpener,
        execution_id: str,
        after_seq: int,
        limit: int,
        encode: Callable[[list[EventRow]], PageT],
    ) -> None: ...

    def __init__(
        self,
        source: CursorOpener,
        execution_id: str,
        after_seq: int,
        limit: int,
        encode: Callable[[list[EventRow]], PageT] | None = None,
    ) -> None:
        self._source = source
        self._execution_id = execution_id
        self._limit = max(limit, 2)
        self._encode: Callable[[list[EventRow]], PageT] = encode or event_page  # type: ignore[assignment]
        #: The page pulled and not yet taken.
        self.page: PageT | None = None
        self._readable = asyncio.Event()
        self._taken = asyncio.Event()
        self._handed = False
        self._done = False
        self._error: BaseException | None = None
        #: The seq of the last event pulled.
        self.last_seq = after_seq
        #: True when the last event pulled is a terminal one.
        self.reached_terminal = False
        #: How often the pump had a page ready and waited for the response to take it.
        self.pauses = 0
        #: The most events the pump held at once.
        self.high_water = 0

    async def run(self) -> None:
        """Pull pages until the cursor ends, each once the previous one is taken."""
        try:
            cursor = await self._source(self._execution_id, self.last_seq)
            while (rows := await cursor.next_page(self._limit)) is not None:
                self.page = self._encode(rows)
                self.high_water = max(self.high_water, len(rows))
                self.last_seq = rows[-1].seq
                self.reached_terminal = row_is_terminal(rows[-1])
                rows = []  # the page is what is held, not the rows it was made of
                self._taken.clear()
                self._readable.set()
                self.pauses += 1
                await self._taken.wait()
        except Exception as exc:
            self._error = exc
        finally:
            self._done = True
            self._readable.set()

    async def take(self) -> PageT | None:
        """The next page (waiting for one); None once nothing more comes.

        The page after it is pulled only at the next call: a caller comes back once
        it has sent what it took, so a stalled one holds its unsent page and nothing
        pulled ahead.
        """
        if self._handed:
            self._handed = False
            self._taken.set()
        while self.page is None:
            if self._done:
                if self._error is not None:
                    raise self._error
                return None
            self._readable.clear()
            await self._readable.wait()
        page, self.page = self.page, None
        self._handed = True
        return page


def sse_message(event: Event) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (event.seq, model_json(event))


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
    budget: SseBudget,
    encoder: SseEncoder,
    transport: asyncio.WriteTransport | None = None,
) -> AsyncIterator[bytes]:
    """The SSE body: buffered events in one chunk per wake-up, keep-alives while idle.

    ``encoder`` and ``budget`` are the server's, shared by all its streams. Each
    chunk is admitted by the budget first; a stream the budget drops
    ends (its connection aborted when ``transport`` is known) and its client resumes.
    """
    pump = EventPump(engine.cursor, execution_id, after_seq, limit, encoder.page)
    share = budget.open(transport)
    in_flight = 0
    share.outside = lambda: in_flight + len(pump.page or b"")
    task = asyncio.get_running_loop().create_task(pump.run())
    try:
        yield b"retry: 1000\n\n"
        while True:
            try:
                async with asyncio.timeout(keepalive):
                    chunk = await pump.take()
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
            if chunk is None:
                yield b"event: end\ndata: {}\n\n"
                return
            if not budget.admit(share, len(chunk)):
                return
            # Until the response has handed the chunk to the transport (it waits for
            # the write buffer to drain first), the stream holds it.
            in_flight = len(chunk)
            yield chunk
            in_flight = 0
            if share.dropped:
                return
    finally:
        budget.close(share)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def recorded_events(engine: Engine, execution_id: str, after_seq: int) -> list[Event]:
    """The events recorded so far after ``after_seq``, without waiting for more."""
    return await engine.recorded_events(execution_id, after_seq)


async def nothing_more(engine: Engine, execution_id: str, after_seq: int) -> bool:
    """True when the execution is finished and has no event after ``after_seq``
    (raises ExecutionNotFoundError when unknown)."""
    if engine.records.is_active(execution_id):
        return False
    return (
        not await engine.recorded_events(execution_id, after_seq, 1)
        and (await engine.get_execution(execution_id)).status.is_terminal
    )


def event_list_bytes(events: list[Event]) -> bytes:
    return b"[" + b",".join(model_json(e) for e in events) + b"]"


#: The largest event number a request may name: far past any real one, and with room
#: below SQLite's INTEGER (2**63 - 1), which a larger one overflowed into a 500.
MAX_SEQ = 2**62


def parse_last_event_id(value: str | None) -> int | None:
    """The seq in a ``Last-Event-ID`` header; ConfigError when it is not one."""
    if value is None or not value.strip():
        return None
    try:
        seq = int(value.strip())
    except ValueError:
        seq = -1
    if not 0 <= seq <= MAX_SEQ:
        raise ConfigError(
            f"Last-Event-ID must be an event seq, got {value!r}", where="Last-Event-ID"
        )
    return seq
