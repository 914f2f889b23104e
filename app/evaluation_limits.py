"""Time limits for evaluating what a blueprint author wrote: templates, JMESPath.

A template or an expression is user input that runs in this process, and a
valid-looking one can run for hours (``{% for a in range(99999) %}{% for b in
range(99999) %}…``) or build a value exponentially (``[@,@] | [@,@] | …``). On the
engine's event loop that would freeze every execution, cancel and health check; on a
thread it would run on after its node timed out. Neither loop counters nor signals
fit: the evaluators are third-party pure-Python interpreters (Jinja2's compiled
code, jmespath's tree walker), and signals reach only the main thread.

So a watchdog thread raises :class:`EvaluationTimeout` *inside* the evaluating
thread when its limit passes (``PyThreadState_SetAsyncExc``: the exception is raised
at the thread's next bytecode boundary, wherever it is in the interpreter). It is a
``BaseException``, so an evaluator's own ``except Exception`` cannot swallow it.

Assumptions and limits:

* Only Python code is interrupted: a single long C call (a huge ``str.replace``)
  finishes first. The value-size checks in the sandbox and in the JMESPath
  interpreter keep such calls small.
* The watchdog checks every :data:`TICK` seconds, so an evaluation stops at most
  that long after its limit (plus the C call it is in).
* A limit covers one evaluation on one thread; limits nest.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Final, TypeVar

from app.thread_interrupts import drop_pending, raise_in

__all__ = [
    "INLINE_BUDGET",
    "INLINE_BYTES",
    "OP_BYTES",
    "TICK",
    "EvaluationTimeout",
    "InlineBudgetExceeded",
    "TimeLimit",
    "eval_timeout",
    "evaluate",
    "off_loop",
    "op_limit",
]

T = TypeVar("T")

#: How often the watchdog looks at the running limits (seconds).
TICK: Final = 0.01


class EvaluationTimeout(BaseException):
    """An evaluation ran past its time limit (raised inside the evaluating thread)."""


class InlineBudgetExceeded(EvaluationTimeout):
    """An evaluation on the event loop ran past the loop's budget: run it off the loop."""


class _Watchdog:
    """One daemon thread that fires the limits whose deadline passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, TimeLimit] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, limit: TimeLimit) -> None:
        with self._lock:
            self._active[id(limit)] = limit
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="conductor-eval-watchdog", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def remove(self, limit: TimeLimit) -> bool:
        """Forget ``limit``; True when it had fired (an exception may still be pending)."""
        with self._lock:
            self._active.pop(id(limit), None)
            return limit.fired

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(TICK)
            now = time.monotonic()
            with self._lock:
                if not self._active:
                    self._wake.clear()
                    continue
                for limit in self._active.values():
                    if not limit.fired and now >= limit.deadline:
                        limit.fired = True
                        raise_in(limit.thread_id, limit.exc_type)


_WATCHDOG = _Watchdog()


class TimeLimit:
    """``with TimeLimit(seconds):`` — the block is interrupted once ``seconds`` pass.

    The block sees :class:`EvaluationTimeout` (or ``exc_type``) raised wherever it is.
    A block that finishes after its deadline but before the watchdog fired ends
    normally; one whose limit fired always raises, never leaves a pending exception
    behind, and never raises after ``__exit__`` returned.
    """

    __slots__ = ("deadline", "exc_type", "fired", "thread_id")

    def __init__(
        self, seconds: float, exc_type: type[EvaluationTimeout] = EvaluationTimeout
    ) -> None:
        self.deadline = time.monotonic() + max(0.0, seconds)
        self.exc_type = exc_type
        self.thread_id = threading.get_ident()
        self.fired = False

    def __enter__(self) -> TimeLimit:
        _WATCHDOG.add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            fired = _WATCHDOG.remove(self)
        except EvaluationTimeout:  # arrived just before the lock: remove again, cannot refire
            fired = _WATCHDOG.remove(self) or True
        if fired:
            drop_pending(EvaluationTimeout)
            if exc_type is None:
                raise self.exc_type


#: The longest one evaluation may hold the event loop before it moves to a thread. The
#: watchdog fires up to :data:`TICK` later and needs the GIL (a switch interval): an
#: inline attempt holds the loop ~30 ms at worst.
INLINE_BUDGET: Final = 0.015
#: The share of the loop's time inline evaluations may take together, and so how fast
#: the budget refills: ten evaluations due in one loop iteration share one budget
#: instead of holding the loop ten budgets in a row.
INLINE_SHARE: Final = 0.5
#: An inline evaluation about to build a value of more bytes than this (one C call:
#: ``'x' * n``, a join, a replace) moves to a thread first: such a call is not
#: interrupted, and 64 MiB of it holds the GIL ~40 ms.
INLINE_BYTES: Final = 1 << 20
#: The most one operation of a template may build (one C call: ``'x' * n``, a join, a
#: replace, the rendered text), and no more than the value budget. Such a call holds
#: the GIL, and so the loop, from start to end: 64 MiB took ~45 ms of CPU (its pages
#: are touched for the first time), well over 100 ms on a busy machine; 16 MiB stays
#: near 10 ms.
OP_BYTES: Final = 16 * 1024 * 1024
#: Threads for evaluations that outgrew the loop. Each competes with the loop for the
#: GIL; two keep the loop's wait short while a slow evaluation does not hold up others.
POOL_THREADS: Final = 2

_POOL: ThreadPoolExecutor | None = None
_LOCAL = threading.local()


class _InlineBudget:
    """The loop's shared budget for inline evaluations (a token bucket, loop thread only)."""

    def __init__(self) -> None:
        self.tokens = INLINE_BUDGET
        self.at = time.monotonic()

    def take(self) -> float:
        """Seconds the next inline evaluation may run (0: go to a thread at once)."""
        now = time.monotonic()
        self.tokens = min(INLINE_BUDGET, self.tokens + (now - self.at) * INLINE_SHARE)
        self.at = now
        return self.tokens if self.tokens >= INLINE_BUDGET / 5 else 0.0

    def spend(self, seconds: float) -> None:
        self.tokens -= seconds


_BUDGET = _InlineBudget()
#: The kinds of evaluation (``what``) that ran once on a thread. The first of a kind
#: imports modules (Jinja2's filters, jmespath's functions): an inline budget firing in
#: the middle of an import would leave it half done, so the first runs on a thread.
_WARMED: set[str] = set()


def off_loop(size: int) -> None:
    """Called before one operation builds ``size`` bytes: on the loop, a big one moves
    the evaluation to a thread (:class:`InlineBudgetExceeded`); elsewhere a no-op."""
    if size > INLINE_BYTES and getattr(_LOCAL, "inline", False):
        raise InlineBudgetExceeded


def op_limit() -> int:
    """The most one operation may build, in bytes: :data:`OP_BYTES` or the value budget."""
    from app.value_size import value_limit

    return min(OP_BYTES, value_limit())


def eval_timeout(node_timeout: float | None) -> float:
    """The time limit for one evaluation of a node with ``node_timeout``."""
    if node_timeout is not None:
        return node_timeout
    from app.limits import setting

    return setting("eval_timeout")


def _pool() -> ThreadPoolExecutor:
    """Threads for evaluations that outgrew the loop; each stops at its own limit."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="conductor-eval")
    return _POOL


def _inline(fn: Callable[[], T], seconds: float) -> T:
    _LOCAL.inline = True
    try:
        with TimeLimit(seconds, InlineBudgetExceeded):
            return fn()
    finally:
        _LOCAL.inline = False


class _Job:
    """One evaluation handed to a pool thread; :meth:`stop` ends it at its next bytecode."""

    __slots__ = ("limit", "stopped")

    def __init__(self) -> None:
        self.stopped = False
        self.limit: TimeLimit | None = None

    def stop(self) -> None:
        # Under the GIL: either the thread sees ``stopped`` after publishing its limit,
        # or this sees the limit (and the watchdog fires it at its next tick).
        self.stopped = True
        if self.limit is not None:
            self.limit.deadline = 0.0


#: The GIL's switch interval while evaluations run on threads (see _CollectorPause).
EVALUATION_SWITCH_INTERVAL = 0.001


class _CollectorPause:
    """The cyclic garbage collector off while any evaluation runs on a pool thread.

    A full collection walks every live container, and a hostile evaluation holds lists
    of millions of references (``[1] * 8000000``, ``[@,@][] | …``): a collection then
    holds the GIL, and so the loop, for 100-200 ms wherever it is triggered. Cycles
    made meanwhile are collected after, and an evaluation lasts at most its timeout.
    The collector is turned back on only if it was on when the first one started.

    Meanwhile the GIL's switch interval is 1 ms, not 5: each time the loop releases
    the GIL (a SQLite call, the selector) it waits for a CPU-bound evaluation thread
    to hand it back, and with two or more such threads it often lost several turns in
    a row: the all-at-once hostile set stalled the loop 90-320 ms in 4 runs of 6
    (default), 38-96 ms in 6 of 6 (1 ms), measured with faulthandler dumps showing the
    loop in a SQLite write or a self-pipe read, i.e. waiting for the GIL.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._was_enabled = False
        self._interval = sys.getswitchinterval()

    def __enter__(self) -> None:
        with self._lock:
            if self._running == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
                self._interval = sys.getswitchinterval()
                sys.setswitchinterval(min(self._interval, EVALUATION_SWITCH_INTERVAL))
            self._running += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                sys.setswitchinterval(self._interval)
                if self._was_enabled:
                    gc.enable()


_COLLECTOR_PAUSE = _CollectorPause()


def _drop_locals(exc: BaseException) -> None:
    """Clear the finished frames of ``exc`` and of its causes: they hold what the
    evaluation built (lists of millions of items), which a failure's error would keep
    alive, for the collector to walk on the loop. Tracebacks still format."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]


def _limited(fn: Callable[[], T], deadline: float, job: _Job) -> T:
    """``fn()`` on a pool thread until ``deadline`` (or until the job is stopped)."""
    with _COLLECTOR_PAUSE, TimeLimit(deadline - time.monotonic()) as limit:
        job.limit = limit
        if job.stopped or time.monotonic() >= deadline:  # cancelled or expired while queued
            raise EvaluationTimeout
        try:
            return fn()
        except BaseException as exc:
            _drop_locals(exc)
            raise


async def evaluate(
    fn: Callable[[], T], *, timeout: float, where: str, what: str, inline: bool = True
) -> T:
    """``fn()`` on the loop while it is small and quick, else on a thread.

    A pure evaluation (a template render, a JMESPath search) is run inline first, the
    common and cheap case, within the loop's shared budget (:data:`INLINE_BUDGET`,
    :data:`INLINE_SHARE`); one that passes it, or that is about to build a value over
    :data:`INLINE_BYTES` (:func:`off_loop`), is interrupted and run again from the
    start on a thread, stopped there ``timeout`` seconds after it began in all (a
    :class:`~app.errors.TemplateError` naming ``where``). Cancelling the caller stops
    the thread at its next bytecode, and one still queued never starts. ``fn`` must
    have no side effects: it may run twice. ``inline=False`` goes to the thread at
    once (a caller that knows the work is large).
    """
    started = time.monotonic()
    budget = min(_BUDGET.take(), timeout) if inline and what in _WARMED else 0.0
    if budget > 0:
        try:
            return _inline(fn, budget)
        except InlineBudgetExceeded:
            pass
        finally:
            _BUDGET.spend(time.monotonic() - started)
    deadline = started + timeout
    loop = asyncio.get_running_loop()
    job = _Job()
    try:
        result = await loop.run_in_executor(_pool(), _limited, fn, deadline, job)
        _WARMED.add(what)
        return result
    except EvaluationTimeout:
        from app.errors import TemplateError

        raise TemplateError(
            f"{what} took longer than {timeout:g} s and was stopped", where=where
        ) from None
    except asyncio.CancelledError:
        job.stop()
        raise
