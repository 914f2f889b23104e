"""The client end of one ``events`` subscription: a queue bounded by its credit.

The worker may send at most ``window`` batches beyond what the consumer has taken
(the client grants more as batches are taken, see :mod:`ipc.client`), so this
queue never holds more than ``window`` batches; a worker that sends more is
misbehaving and the stream ends with a :class:`~ipc.errors.ProtocolError`.
"""

from __future__ import annotations

import asyncio
from collections import deque

from app.errors import ConductorError
from ipc.messages import EventBatch


class Subscription:
    """The client end of one ``events`` stream: a queue bounded by the credit window."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.batches: deque[EventBatch] = deque()
        self.high_water = 0
        self.ended = False
        self.error: ConductorError | None = None
        self._wake = asyncio.Event()

    def push(self, batch: EventBatch) -> bool:
        """Queue a batch; False when the worker sent more than it was granted."""
        if len(self.batches) >= self.window:
            return False
        self.batches.append(batch)
        self.high_water = max(self.high_water, len(self.batches))
        self._wake.set()
        return True

    def finish(self, error: ConductorError | None = None) -> None:
        if not self.ended:
            self.ended, self.error = True, error
            self._wake.set()

    async def next_batch(self) -> EventBatch | None:
        """The next batch, None at the end; raises the error the stream ended with."""
        while not self.batches:
            if self.ended:
                if self.error is not None:
                    raise self.error
                return None
            self._wake.clear()
            await self._wake.wait()
        return self.batches.popleft()
