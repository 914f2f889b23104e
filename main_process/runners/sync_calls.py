"""The default runner of plain ``def`` node code: on the loop when it is straight-line
code; otherwise on a node thread, with the loop waiting for it synchronously, for a
short while, once it has shown itself fast.

Handing a call to a thread and back *through the event loop* costs ~50-100 µs on
CPython 3.11 (``call_soon_threadsafe``, a self-pipe write, an ``epoll`` wake-up and
a turn of the loop), against ~20 µs for a whole ``async def`` node: the common
plain function — a few dict operations — paid more for the hop than for itself.
Running it on the loop thread itself would be free, but a function that blocks
(a sync HTTP call, ``time.sleep``) would stall every other execution and the event
stream for as long as it blocks, and nothing can take a running call off a thread.

So :func:`run_plain` decides per function, first from its code, then from what it
measured:

* a function whose bytecode calls nothing and has no loop (``value[k] = v; return
  value``, the README's ``lambda x: {"n": x["n"] * 2}``) cannot wait or run long by
  itself: it is called on the loop, from its first call, under a profile hook
  (:mod:`~main_process.runners.straight_line` gives the argument). One that runs
  Python code it does not show (a property or ``__getitem__`` of an object it
  reads) or takes over ``BLOCKED_S`` finishes that call on the loop and goes to the
  thread paths below for good;
* a function is called on the engine's node threads (:func:`run_in_pool`, the loop
  free meanwhile) until ``TRUST_AFTER`` calls in a row took under ``FAST_S`` each,
  hop included;
* from then on it still runs on a node thread, but the loop *waits for it in place*
  (a plain condition wait, no turn of the loop): a fast call costs two thread
  wake-ups, not a trip through the loop's machinery;
* a call not finished within ``BLOCKED_S`` is handed off: the loop stops waiting and
  awaits it like any thread call, and the function goes back to the plain thread
  path until it has been fast ``TRUST_AFTER`` times in a row again — for good after
  ``HANDOFFS_MAX`` hand-offs (logged once), unless ``FORGIVE_AFTER`` calls in a row
  finished in place between them. A late call on a loaded machine (the
  thread not scheduled in time) so costs a few calls on the slow path, not the fast
  path forever. A function that blocks after any number of fast calls holds the
  loop at most ``BLOCKED_S`` (plus a GIL switch interval, 5 ms, if it computes rather
  than waits), and one that blocks from its first call never does
  (``bench/engine.py``'s ``sync_stall`` measures both; the bar is 50 ms).

Code that calls anything runs on a node thread either way, so it may block, call
``asyncio.run`` or wait on the engine's own loop
(``run_coroutine_threadsafe(...).result()``: the hand-off frees the loop to serve
it). ``runner: thread`` always takes the plain thread path, and a node with a
``timeout`` too, so its timeout can fire (straight-line code included), as does any
call while a profiler is installed (the hook would replace it). The caller decides
which calls are eligible; this module only measures.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from main_process.runners.straight_line import call_guarded, straight_line
from main_process.runners.threads import await_in_pool, current_pool, run_blocking, run_in_pool

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A call at most this long (on a thread, hop included) counts as fast: past it the
#: hop is under ~10% of the call, and the loop would be held for noticeable time.
FAST_S = 0.001
#: Fast calls in a row, on a thread, before the loop waits for a function in place.
TRUST_AFTER = 3
#: How long the loop waits in place for a trusted function's call; a call still
#: running then is handed off, and its function must earn that again. Ten times a
#: fast call's bound, so a loaded machine that is late to run the thread rarely
#: hands off a fast call; a fifth of the 50 ms the loop may be held at most.
BLOCKED_S = 0.010
#: Hand-offs after which a function never has the loop wait for it again ...
HANDOFFS_MAX = 3
#: ... unless this many of its calls in a row finished in place since the last one.
FORGIVE_AFTER = 100


class _Record:
    """What the calls of one function have shown."""

    __slots__ = ("blocked", "fast", "handoffs", "name", "straight")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fast = 0
        self.handoffs = 0
        self.blocked = False
        #: Straight-line code (:mod:`~main_process.runners.straight_line`), called on
        #: the loop; False once a call strayed.
        self.straight = straight_line(fn)
        self.name = getattr(fn, "__qualname__", repr(fn))

    def strayed(self) -> None:
        """A call on the loop ran foreign Python code or took long: threads from now on."""
        self.straight = False
        log.info(
            "%s ran other Python code or took over %.0f ms on the engine loop; it runs on "
            "node threads from now on",
            self.name,
            BLOCKED_S * 1000,
        )


_records: weakref.WeakKeyDictionary[Callable[..., Any], _Record] = weakref.WeakKeyDictionary()


def _record(fn: Callable[..., Any]) -> _Record | None:
    """The function's record; None for callables that cannot be remembered weakly
    (those always run on a thread)."""
    try:
        record = _records.get(fn)
        if record is None:
            record = _records[fn] = _Record(fn)
    except TypeError:  # not hashable, or no weak references
        return None
    return record


def runs_inline(fn: Callable[..., Any]) -> bool:
    """Whether :func:`run_plain` would have the loop wait for ``fn`` in place now
    (for tests, docs)."""
    try:
        record = _records.get(fn)
    except TypeError:  # not hashable, or no weak references: always a thread
        return False
    return record is not None and not record.blocked and record.fast >= TRUST_AFTER


def on_loop(fn: Callable[..., Any]) -> bool:
    """Whether :func:`run_plain` would call ``fn`` on the loop itself now (for tests)."""
    try:
        record = _records.get(fn)
    except TypeError:
        return False
    return record is not None and record.straight


async def run_plain(pool: Executor, fn: Callable[..., T], *args: Any) -> T:
    """Await ``fn(*args)``: on the loop when it is straight-line code, else on ``pool``,
    waited for in place when ``fn`` has shown itself fast, else through the loop (see
    the module docstring)."""
    record = _record(fn)
    if record is None:
        return await run_in_pool(pool, fn, *args)
    if record.straight and sys.getprofile() is None:  # a profiler's hook is not replaced
        return call_guarded(fn, args, BLOCKED_S, record.strayed)
    if record.fast >= TRUST_AFTER and not record.blocked:
        future = pool.submit(contextvars.copy_context().run, functools.partial(fn, *args))
        start = time.perf_counter()
        try:
            future.exception(BLOCKED_S)  # waits; the call's own exception is not raised here
        except TimeoutError:
            return await _hand_off(record, fn, pool, future, start)
        record.fast += 1
        if record.fast >= FORGIVE_AFTER:
            record.handoffs = 0  # a long fast run again: earlier hand-offs were passing load
        return future.result()
    start = time.perf_counter()
    try:
        result = await run_in_pool(pool, fn, *args)
    except BaseException:
        record.fast = 0
        raise
    record.fast = record.fast + 1 if time.perf_counter() - start < FAST_S else 0
    return result


async def _hand_off(
    record: _Record, fn: Callable[..., T], pool: Executor, future: Future[T], start: float
) -> T:
    """A trusted call outlived :data:`BLOCKED_S`: await the rest through the loop; the
    function goes back to the thread path (for good after :data:`HANDOFFS_MAX`)."""
    record.fast = 0
    record.handoffs += 1
    if record.handoffs >= HANDOFFS_MAX and not record.blocked:
        record.blocked = True
        log.warning(
            "%s took over %.0f ms %d times; the engine loop no longer waits for it in "
            "place (give its node runner: thread if it may block)",
            getattr(fn, "__qualname__", repr(fn)),
            (time.perf_counter() - start) * 1000,
            record.handoffs,
        )
    return await await_in_pool(pool, future)


#: Set by the engine for a node without a ``timeout`` whose type calls plain
#: functions itself (``python.function``): the loop may then wait for them in place.
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
