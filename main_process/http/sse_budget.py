"""What all event-stream clients of ``conductor serve`` may make it hold, together.

A pull cursor bounds one stream to a page, but not the server: every client that
stops reading still pins what was written for it and not yet taken by its socket
(the asyncio transport's write buffer, up to a chunk past its high-water mark),
the chunk waiting for that buffer to drain, and the page pulled ahead. With 200
such clients that was most of a gigabyte. So the server keeps one budget of
event-stream bytes (``$CONDUCTOR_MAX_SSE_BUFFER_BYTES``, ``serve
--max-sse-buffer-bytes``; default 8 MiB) and checks it whenever a stream is about
to add a chunk — the only moment anything grows.

Over the budget, streams whose clients are behind (bytes still in their write
buffer) and hold more than their fair share (budget / streams) are dropped,
biggest first: the connection is aborted, which frees its buffer at once. The
client loses nothing: every SSE message carries ``id:`` = its seq, a message cut
short is discarded by the client (SSE's rule), so it reconnects with the
``Last-Event-ID`` of the last whole message and resumes from the record with no
gap. A stream that is itself behind and over its share when nothing else can
give way is dropped too. A client that reads keeps its buffer near empty and is
never the one dropped.

The write buffer is the transport's, which ASGI does not show: the server's h11
protocol (:mod:`main_process.http.header_timeout`) puts the transport in the
request's scope under :data:`EXTENSION`. Behind another server a stream counts
only what it holds itself, and can be ended, not aborted, at its next chunk.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from app.json_values import model_json
from app.limits import limit
from app.states import ExecutionStatus
from main_process.engine.execution_state import event_from_row
from main_process.store.chunks import EventRow

log = logging.getLogger(__name__)

#: The scope extension under which the server's protocol hands over the transport.
EXTENSION = "conductor"
#: The kernel send buffer of an event-stream connection (Linux keeps twice this). Left
#: to autotuning, a client that never reads gets up to 4 MiB queued in the kernel, and
#: its stream keeps encoding for it: 200 of them held ~800 MiB and most of a CPU.
SEND_BUFFER = 64 * 1024
#: The transport's write-buffer high-water mark on an event-stream connection: past
#: it the response waits before writing more (asyncio's default is 64 KiB).
WRITE_HIGH_WATER = 16 * 1024

_TERMINAL = frozenset(status.value for status in ExecutionStatus if status.is_terminal)


def row_is_terminal(row: EventRow) -> bool:
    """True for an execution's terminal event (as :attr:`Event.is_terminal` says)."""
    return row.kind == "execution" and row.status in _TERMINAL


def scope_transport(scope: Mapping[str, Any]) -> asyncio.WriteTransport | None:
    """The connection's transport, when the server put it in the scope."""
    extension = scope.get("extensions", {}).get(EXTENSION, {})
    transport = extension.get("transport")
    return transport if isinstance(transport, asyncio.WriteTransport) else None


def bound_buffers(transport: asyncio.WriteTransport | None) -> None:
    """Fix the connection's kernel send buffer at :data:`SEND_BUFFER` and lower its
    write buffer's high-water mark to :data:`WRITE_HIGH_WATER` (see there)."""
    if transport is None:
        return
    transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        except OSError:  # a closed socket, or one that refuses: the budget still holds
            log.debug("could not bound an event stream's send buffer", exc_info=True)


def sse_row(row: EventRow) -> bytes:
    """One SSE message for a recorded event, straight from its row: the same JSON as
    the :class:`~app.events.Event` model's (a test holds them equal), at a fraction
    of the cost, since every stream of every client encodes every event."""
    event = {
        "execution_id": row[0],
        "seq": row[1],
        "ts": row[2],
        "kind": row[3],
        "node_id": row[4],
        "status": row[5],
        "attempt": row[6],
        "data": row[7],
    }
    try:
        data = orjson.dumps(event, default=str)
    except (TypeError, orjson.JSONEncodeError):  # what orjson refuses (huge ints, depth)
        data = model_json(event_from_row(row))  # depth-safe past pydantic's writer
    return b"id: %d\ndata: %s\n\n" % (row[1], data)


class SseEncoder:
    """SSE messages of recorded events, each encoded once for all the streams that
    read it (followers of one run read the same events at about the same time).

    The cache is bounded (``max_bytes`` of messages, least recently used out). An
    event's message never changes once recorded: seqs are never reused.
    """

    def __init__(self, max_bytes: int = 2 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._messages: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._bytes = 0

    def page(self, rows: Sequence[EventRow]) -> bytes:
        """The messages of ``rows``, joined."""
        messages = self._messages
        parts: list[bytes] = []
        for row in rows:
            key = (row[0], row[1])
            message = messages.get(key)
            if message is None:
                message = sse_row(row)
                if len(message) <= self.max_bytes // 16:
                    messages[key] = message
                    self._bytes += len(message)
                    while self._bytes > self.max_bytes:
                        self._bytes -= len(messages.popitem(last=False)[1])
            else:
                messages.move_to_end(key)
            parts.append(message)
        return b"".join(parts)


class StreamShare:
    """One event stream's part of the budget."""

    def __init__(self, transport: asyncio.WriteTransport | None) -> None:
        self.transport = transport
        #: Bytes the stream holds outside the transport (set by the stream).
        self.outside: Callable[[], int] = lambda: 0
        #: Set once the budget dropped this stream; it must stop.
        self.dropped = False

    def buffered(self) -> int:
        """Bytes written to the connection that its client has not taken yet."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return 0
        return transport.get_write_buffer_size()

    def held(self) -> int:
        return self.buffered() + self.outside()

    def drop(self) -> None:
        """Free what the stream holds: abort its connection (the client reconnects
        with ``Last-Event-ID``); without a transport, the stream ends at its next chunk."""
        self.dropped = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()


class SseBudget:
    """The server's budget of event-stream bytes (see the module docs).

    ``total_bytes`` None reads ``$CONDUCTOR_MAX_SSE_BUFFER_BYTES`` on each check,
    so a limit set after the app was built still holds.
    """

    def __init__(self, total_bytes: int | None = None) -> None:
        self._total = total_bytes
        self._shares: set[StreamShare] = set()
        #: The total at the last count, and the bytes admitted since.
        self._counted = 0
        self._granted = 0
        #: Streams dropped so far (for tests and figures).
        self.dropped = 0

    @property
    def total_bytes(self) -> int:
        return self._total if self._total is not None else limit("sse_buffer_bytes")

    @property
    def streams(self) -> int:
        return len(self._shares)

    def held(self) -> int:
        """Bytes all streams hold now."""
        return sum(share.held() for share in self._shares)

    def open(self, transport: asyncio.WriteTransport | None) -> StreamShare:
        bound_buffers(transport)
        share = StreamShare(transport)
        self._shares.add(share)
        return share

    def close(self, share: StreamShare) -> None:
        self._shares.discard(share)

    def admit(self, share: StreamShare, nbytes: int) -> bool:
        """Whether ``share`` may add ``nbytes``; False when it was dropped and must stop.

        Over the budget, others that are behind and past their fair share are dropped
        first, biggest first; then ``share`` itself if it is behind and past its share
        (one whose client has taken all it was sent moves its chunk straight on).

        Counting every stream's buffer at every chunk would cost streams² per round of
        pages, so the last count plus what was admitted since (twice each chunk: it
        moves to the transport and the pump pulls another) stands for the total until
        it reaches the budget. Buffers only shrink by themselves, so it never stands
        for less than is held.
        """
        if share.dropped:
            return False
        budget = self.total_bytes
        if self._counted + self._granted + 2 * nbytes <= budget:
            self._granted += 2 * nbytes
            return True
        held = {other: other.held() for other in self._shares}
        total = sum(held.values()) + nbytes
        admitted = True
        if total > budget:
            fair = budget / max(len(self._shares), 1)
            for other in sorted(held, key=held.__getitem__, reverse=True):
                if total <= budget or held[other] <= fair:
                    break
                if other is not share and other.buffered() > 0:
                    self._drop(other, held[other], budget)
                    total -= held[other]
            mine = held.get(share, 0) + nbytes
            if total > budget and mine > fair and share.buffered() > 0:
                self._drop(share, mine, budget)
                total -= mine
                admitted = False
        self._counted, self._granted = total, nbytes
        return admitted

    def _drop(self, share: StreamShare, held: int, budget: int) -> None:
        log.info(
            "dropped a stalled event stream holding %d bytes (budget %d bytes over %d streams);"
            " its client resumes with Last-Event-ID",
            held,
            budget,
            len(self._shares),
        )
        self.dropped += 1
        self._shares.discard(share)
        share.drop()
