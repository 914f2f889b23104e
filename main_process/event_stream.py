"""One client's ``events`` subscription, served over the pipe in batches.

Batching: events are sent in batches, flushed when the first event in a batch is
``FLUSH_SECONDS`` old or the batch holds ``MAX_BATCH`` events, whichever comes
first, and at once after the terminal event, so a fast execution costs a handful
of frames and a slow one is still seen within a few milliseconds.

Back-pressure (credit): the client grants a window of batches and grants more as
its consumer takes them out of its bounded queue. When the credit runs out the
stream *stops reading the engine*: it closes its engine iterator (so nothing
queues up for it in the worker) and, when credit returns, opens a new one from
the last seq it sent. Events are recorded with a gap-free seq, so the pause loses
nothing — the new iterator replays what happened meanwhile from the engine's
memory or the store. Memory per subscription is thus bounded by the window, on
both sides of the pipe, however slow the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from app.events import Event
from ipc.messages import EventBatch, EventsRequest

FLUSH_SECONDS = 0.005
MAX_BATCH = 500


class EventSource(Protocol):
    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]: ...


async def _next(events: AsyncIterator[Event]) -> Event | None:
    try:
        return await anext(events)
    except StopAsyncIteration:
        return None


class EventStream:
    """Pumps one execution's events to one subscriber, within its credit."""

    def __init__(
        self,
        source: EventSource,
        request: EventsRequest,
        send: Callable[[EventBatch], Awaitable[None]],
    ) -> None:
        self._source = source
        self._id = request.id
        self._execution_id = request.execution_id
        self._send = send
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

    async def _flush(self, batch: list[Event]) -> None:
        self._credit -= 1
        if self._credit <= 0:
            self._credited.clear()
        self.last_seq = batch[-1].seq
        await self._send(
            EventBatch(id=self._id, execution_id=self._execution_id, events=list(batch))
        )
        batch.clear()

    async def _follow(self) -> bool:
        """Forward events until the stream ends (True) or the credit runs out (False)."""
        loop = asyncio.get_running_loop()
        events = self._source.events(self._execution_id, self.last_seq)
        pending: asyncio.Task[Event | None] | None = None
        batch: list[Event] = []
        flush_at = 0.0
        try:
            while True:
                if pending is None:
                    pending = loop.create_task(_next(events))
                if batch:
                    done, _ = await asyncio.wait((pending,), timeout=flush_at - loop.time())
                    if not done:
                        await self._flush(batch)
                        if self._credit <= 0:
                            return False
                        continue
                event = await pending
                pending = None
                if event is None:
                    if batch:
                        await self._flush(batch)
                    return True
                batch.append(event)
                if len(batch) == 1:
                    flush_at = loop.time() + FLUSH_SECONDS
                if len(batch) >= MAX_BATCH or event.is_terminal:
                    await self._flush(batch)
                    if event.is_terminal:
                        return True
                    if self._credit <= 0:
                        return False
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait((pending,))
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
