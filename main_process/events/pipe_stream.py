"""One client's ``events`` subscription, served over the pipe in batches.

Batching: events are sent in batches, flushed when the first event in a batch is
``FLUSH_SECONDS`` old or the batch holds ``MAX_BATCH`` events, whichever comes
first, and at once after the terminal event, so a fast execution costs a handful
of frames and a slow one is still seen within a few milliseconds.

Back-pressure is the event cursor's (:mod:`main_process.events.cursor`): the
stream pulls a page only when the client has credit for a batch. The client
grants a window of batches and more as its consumer takes them out of its
bounded queue; while the credit is used up the stream simply does not pull, and
what happens meanwhile is read from the record when it pulls again. Memory per
subscription is thus bounded by the window, on both sides of the pipe, however
slow the consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from app.json_values import dumps
from ipc.messages import EventsRequest
from ipc.protocol import MAX_FRAME_BYTES, PROTOCOL_VERSION
from main_process.events.cursor import EventCursor
from main_process.store.chunks import EventRow

FLUSH_SECONDS = 0.005
MAX_BATCH = 500


class EventSource(Protocol):
    """What a stream reads: the engine, which opens cursors on its record."""

    async def cursor(self, execution_id: str, after_seq: int = 0) -> EventCursor: ...


class EventStream:
    """Pumps one execution's events to one subscriber, within its credit."""

    def __init__(
        self,
        source: EventSource,
        request: EventsRequest,
        send: Callable[[bytes], Awaitable[None]],
        *,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        self._source = source
        self._id = request.id
        self._execution_id = request.execution_id
        self._send = send
        self._max = max_frame_bytes
        self.last_seq = request.after_seq
        self._credit = request.window
        self._credited = asyncio.Event()

    def grant(self, batches: int) -> None:
        """The subscriber has room for ``batches`` more batches."""
        self._credit += batches
        self._credited.set()

    async def run(self) -> int:
        """Serve the subscription to its end; returns the last seq sent.

        Pages of up to ``MAX_BATCH`` events, each one batch; after waiting for news
        the cursor lets ``FLUSH_SECONDS`` of events gather before the next page.
        """
        cursor = await self._source.cursor(self._execution_id, self.last_seq)
        while True:
            while self._credit <= 0:
                self._credited.clear()
                await self._credited.wait()
            page = await cursor.next_page(MAX_BATCH, linger=FLUSH_SECONDS)
            if page is None:
                return self.last_seq
            await self._flush(page)

    async def _flush(self, rows: list[EventRow]) -> None:
        self._credit -= 1
        self.last_seq = rows[-1].seq
        await self._send(self._frame(rows))

    def _frame(self, rows: list[EventRow]) -> bytes:
        """An ``events`` frame built straight from the record's rows.

        The same JSON as an :class:`~ipc.messages.EventBatch` of Event models (a
        test holds them equal), at a fraction of the cost: the worker re-encodes
        what it reads and never needs the models. An event too big for a frame
        keeps its place in the sequence with its data replaced by a note.
        """
        events = [
            {
                "execution_id": r[0],
                "seq": r[1],
                "ts": r[2],
                "kind": r[3],
                "node_id": r[4],
                "status": r[5],
                "attempt": r[6],
                "data": r[7],
            }
            for r in rows
        ]
        message = {
            "v": PROTOCOL_VERSION,
            "kind": "events",
            "id": self._id,
            "execution_id": self._execution_id,
            "events": events,
        }
        frame = dumps(message, default=str)
        if len(frame) > self._max:
            budget = self._max // max(len(events), 1)
            for event in events:
                if len(dumps(event, default=str)) > budget:
                    event["data"] = {"truncated": "the event was larger than a frame"}
            frame = dumps(message, default=str)
        return frame
