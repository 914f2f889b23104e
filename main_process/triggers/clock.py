"""The clock schedules are read from, injectable so tests run hours in seconds.

:class:`SystemClock` is wall time. Its ``sleep_until`` wakes at least every
:data:`MAX_NAP` seconds and re-reads the wall clock, so a machine that slept, or a
clock that was set, is noticed within that time (a monotonic sleep alone would
wake late after a suspend, and the fires it slept through would look on time).
:class:`ManualClock` moves only when a test advances it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

#: The longest single sleep before the wall clock is read again.
MAX_NAP = 5.0


class Clock(Protocol):
    """Wall time in epoch seconds, and a way to wait for a moment of it."""

    def now(self) -> float: ...

    async def sleep_until(self, moment: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, moment: float) -> None:
        while True:
            left = moment - time.time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, MAX_NAP))


class ManualClock:
    """A clock that stands still until :meth:`advance` or :meth:`set`; sleepers wake
    when it passes their moment. For tests of minutes-scale schedules."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._moved = asyncio.Condition()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, moment: float) -> None:
        async with self._moved:
            await self._moved.wait_for(lambda: self._now >= moment)

    async def set(self, moment: float) -> None:
        async with self._moved:
            self._now = moment
            self._moved.notify_all()

    async def advance(self, seconds: float) -> None:
        await self.set(self._now + seconds)
