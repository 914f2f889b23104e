"""When a schedule trigger is due: pure functions of the spec and of time.

Times are epoch seconds (floats). A cron expression is read in the trigger's time
zone (``croniter`` over an aware datetime, so daylight-saving changes move the
fires with the wall clock); ``every`` counts from an anchor, the last fire's
scheduled time, so a schedule keeps its phase across restarts.

Missed fires (:func:`due_between`) are found backwards from now and bounded: a
machine asleep for a month on a one-second schedule yields at most ``limit`` times
and a count, never millions of datetimes.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from app.automation_spec import ScheduleTrigger


def next_after(spec: ScheduleTrigger, after: float, anchor: float) -> float:
    """The first scheduled time strictly after ``after`` (``anchor``: a time the
    schedule fired at or started from, which an ``every`` schedule keeps its phase to)."""
    if spec.every is not None:
        steps = math.floor((after - anchor) / spec.every) + 1
        return anchor + max(steps, 1) * spec.every
    return _cron_next(spec, after)


def _cron_next(spec: ScheduleTrigger, after: float) -> float:
    from croniter import croniter

    assert spec.cron is not None
    start = datetime.fromtimestamp(after, ZoneInfo(spec.timezone))
    nxt = croniter(spec.cron, start).get_next(datetime)
    return float(nxt.timestamp())


def _cron_prev(spec: ScheduleTrigger, before: float) -> float:
    from croniter import croniter

    assert spec.cron is not None
    start = datetime.fromtimestamp(before, ZoneInfo(spec.timezone))
    prev = croniter(spec.cron, start).get_prev(datetime)
    return float(prev.timestamp())


class Due(NamedTuple):
    """The scheduled times in ``(anchor, now]``: the newest ``limit`` of them, oldest
    first, and how many there were in all (``total >= len(times)``)."""

    times: list[float]
    total: int


def due_between(spec: ScheduleTrigger, anchor: float, now: float, limit: int) -> Due:
    """Scheduled times ``t`` with ``anchor < t <= now`` (see :class:`Due`)."""
    if now <= anchor:
        return Due([], 0)
    if spec.every is not None:
        total = math.floor((now - anchor) / spec.every + 1e-9)
        first = max(1, total - limit + 1)
        return Due([anchor + k * spec.every for k in range(first, total + 1)], max(total, 0))
    newest: list[float] = []
    cursor = now + 1e-3  # get_prev is strictly before; a time exactly at now counts
    while True:
        t = _cron_prev(spec, cursor)
        if t <= anchor:
            break
        if len(newest) == limit:
            # Only the count is still wanted: how many more lie before, bounded.
            extra = _count_before(spec, anchor, t, cap=100_000)
            return Due(newest[::-1], limit + extra)
        newest.append(t)
        cursor = t
    return Due(newest[::-1], len(newest))


def _count_before(spec: ScheduleTrigger, anchor: float, upto: float, cap: int) -> int:
    """How many scheduled times lie in ``(anchor, upto]`` (at most ``cap``)."""
    count, cursor = 0, upto + 1e-3
    while count < cap:
        t = _cron_prev(spec, cursor)
        if t <= anchor:
            break
        count += 1
        cursor = t
    return count


def describe(spec: ScheduleTrigger) -> str:
    """The schedule in words, for listings."""
    if spec.every is not None:
        return f"every {spec.every:g} s"
    return f"cron {spec.cron} ({spec.timezone})"
