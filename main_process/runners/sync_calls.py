"""The default runner of plain ``def`` node code: on the loop once it has shown
itself fast, on a node thread otherwise.

Handing a call to a thread and back costs ~50-100 µs on CPython 3.11 (two thread
wake-ups and GIL hand-overs; measured ~45 µs for the barest hand-off, whatever the
queue), against ~20 µs for a whole ``async def`` node: the common plain function —
a few dict operations — paid more for the hop than for itself. Running it on the
loop is free, but a function that blocks (a sync HTTP call, ``time.sleep``) would
stall every other execution and the event stream.

So :func:`run_plain` decides per function, from what it measured:

* a function is called on the engine's node threads (:func:`run_in_pool`) until
  ``TRUST_AFTER`` calls in a row took under ``FAST_S`` each, hop included;
* from then on it is called on the loop — in a copy of the context, with the
  running loop hidden (``asyncio.run`` inside works as on a thread);
* a call on the loop that takes longer than ``BLOCKED_S`` sends that function back to
  threads for good (logged once), so a function that blocks stalls the loop at most
  once, and one that blocks from its first call never does.

What the past cannot tell: a function fast ``TRUST_AFTER`` times that then blocks
stalls the loop for that one call (``bench/engine.py``'s ``sync_stall`` measures
it). A node whose code may block after fast calls — it waits on a lock, a queue, a
socket, or on the engine's own loop (``run_coroutine_threadsafe(...).result()``,
which on the loop would wait forever) — says so with ``runner: thread`` (always a
thread) or ``runner: process``;
a node with a ``timeout`` always runs on a thread too, so its timeout can fire.
The caller decides which calls are eligible; this module only measures.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from main_process.runners.threads import current_pool, run_blocking, run_in_pool

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A call at most this long (on a thread, hop included) counts as fast: past it the
#: hop is under ~10% of the call, and the loop would be held for noticeable time.
FAST_S = 0.001
#: Fast calls in a row, on a thread, before a function runs on the loop.
TRUST_AFTER = 3
#: A call on the loop longer than this sends its function back to threads for good.
BLOCKED_S = 0.005


class _Record:
    """What the calls of one function have shown."""

    __slots__ = ("blocked", "fast")

    def __init__(self) -> None:
        self.fast = 0
        self.blocked = False


_records: weakref.WeakKeyDictionary[Callable[..., Any], _Record] = weakref.WeakKeyDictionary()


def _record(fn: Callable[..., Any]) -> _Record | None:
    """The function's record; None for callables that cannot be remembered weakly
    (those always run on a thread)."""
    try:
        record = _records.get(fn)
        if record is None:
            record = _records[fn] = _Record()
    except TypeError:  # not hashable, or no weak references
        return None
    return record


def runs_inline(fn: Callable[..., Any]) -> bool:
    """Whether :func:`run_plain` would call ``fn`` on the loop now (for tests, docs)."""
    try:
        record = _records.get(fn)
    except TypeError:  # not hashable, or no weak references: always a thread
        return False
    return record is not None and not record.blocked and record.fast >= TRUST_AFTER


async def run_plain(pool: Executor, fn: Callable[..., T], *args: Any) -> T:
    """Await ``fn(*args)``: on the loop when ``fn`` has shown itself fast, else on
    ``pool`` (see the module docstring)."""
    record = _record(fn)
    if record is None:
        return await run_in_pool(pool, fn, *args)
    if record.fast >= TRUST_AFTER and not record.blocked:
        return _call_inline(record, fn, args)
    start = time.perf_counter()
    try:
        result = await run_in_pool(pool, fn, *args)
    except BaseException:
        record.fast = 0
        raise
    record.fast = record.fast + 1 if time.perf_counter() - start < FAST_S else 0
    return result


def _call_inline(record: _Record, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    asyncio.events._set_running_loop(None)
    start = time.perf_counter()
    try:
        return context.run(fn, *args)
    finally:
        took = time.perf_counter() - start
        asyncio.events._set_running_loop(loop)
        if took > BLOCKED_S and not record.blocked:
            record.blocked = True
            log.warning(
                "%s held the engine loop for %.0f ms; it runs on a thread from now on "
                "(give its node runner: thread if it may block)",
                getattr(fn, "__qualname__", repr(fn)),
                took * 1000,
            )


#: Set by the engine for a node without a ``timeout`` whose type calls plain
#: functions itself (``python.function``): they may then run on the loop.
may_inline: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "conductor_plain_may_inline", default=False
)


async def run_user_function(fn: Callable[..., T], *args: Any) -> T:
    """A node type's plain user function: :func:`run_plain` on the running engine's
    pool where the engine allows it (:data:`may_inline`), else
    :func:`~main_process.runners.threads.run_blocking`."""
    pool = current_pool.get(None)
    if pool is None or not may_inline.get():
        return await run_blocking(fn, *args)
    return await run_plain(pool, fn, *args)
