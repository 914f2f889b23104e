"""One client's ``events`` subscription, served over the pipe in batches.

Batching: events are sent in batches, flushed when the first event in a batch is
``FLUSH_SECONDS`` old or the batch holds ``MAX_BATCH`` events, whichever comes
first, and at once after the terminal event, so a fast execution costs a handful
of frames and a slow one is still seen within a few milliseconds.

Back-pressure (credit): the client grants a window of batches and grants more as
its consumer takes them out of its bounded queue. When the credit runs out the
stream *stops reading the engine's record* (nothing queues up for it in the
worker) and, when credit returns, reads on from the last seq it sent. Events are
recorded with a gap-free seq, so the pause loses nothing — what happened
meanwhile is read from the engine's memory or the store. Memory per subscription
is thus bounded by the window, on both sides of the pipe, however slow the
consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson

from ipc.messages import EventsRequest
from ipc.protocol import MAX_FRAME_BYTES, PROTOCOL_VERSION
from main_process.engine.execution_state import EventRow

FLUSH_SECONDS = 0.005
MAX_BATCH = 500


class EventSource(Protocol):
    """What a stream reads: the engine's event record, in pages, and a wake-up."""

    async def recorded_event_rows(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[EventRow]: ...

    def is_active(self, execution_id: str) -> bool: ...

    def watch(self, execution_id: str, callback: Callable[[], None]) -> Callable[[], None]: ...


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
        self._credited.set()

    def grant(self, batches: int) -> None:
        """The subscriber has room for ``batches`` more batches."""
        self._credit += batches
        self._credited.set()

    async def run(self) -> int:
        """Serve the subscription to its end; returns the last seq sent."""
        while not await self._follow():
            await self._credited.wait()
        return self.last_seq

    async def _flush(self, rows: list[EventRow]) -> None:
        self._credit -= 1
        if self._credit <= 0:
            self._credited.clear()
        self.last_seq = rows[-1][1]
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
        frame = orjson.dumps(message, default=str)
        if len(frame) > self._max:
            budget = self._max // max(len(events), 1)
            for event in events:
                if len(orjson.dumps(event, default=str)) > budget:
                    event["data"] = {"truncated": "the event was larger than a frame"}
            frame = orjson.dumps(message, default=str)
        return frame

    async def _follow(self) -> bool:
        """Forward events until the stream ends (True) or the credit runs out (False).

        It reads the record in pages of up to ``MAX_BATCH`` rather than event by
        event: a page is one slice of the active run's log (or a few store chunks)
        and goes out as one batch. When it has caught up it sleeps until the run has
        news, then lets ``FLUSH_SECONDS`` of events gather before the next page.
        """
        source, eid = self._source, self._execution_id
        wake = asyncio.Event()
        unwatch = source.watch(eid, wake.set)
        try:
            while True:
                page = await source.recorded_event_rows(eid, self.last_seq, MAX_BATCH)
                if page:
                    await self._flush(page)
                    if self._credit <= 0:
                        return False
                    continue
                if not source.is_active(eid):
                    # Finished: whatever it released before the check is read above.
                    page = await source.recorded_event_rows(eid, self.last_seq, MAX_BATCH)
                    if not page:
                        return True
                    await self._flush(page)
                    if self._credit <= 0:
                        return False
                    continue
                wake.clear()
                if await source.recorded_event_rows(eid, self.last_seq, 1):
                    continue  # news arrived between the read and the clear
                await wake.wait()
                await asyncio.sleep(FLUSH_SECONDS)
        finally:
            unwatch()
