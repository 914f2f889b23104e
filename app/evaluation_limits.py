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
import ctypes
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Final, TypeVar

__all__ = [
    "INLINE_BUDGET",
    "TICK",
    "EvaluationTimeout",
    "InlineBudgetExceeded",
    "TimeLimit",
    "eval_timeout",
    "evaluate",
]

T = TypeVar("T")

#: How often the watchdog looks at the running limits (seconds).
TICK: Final = 0.01


class EvaluationTimeout(BaseException):
    """An evaluation ran past its time limit (raised inside the evaluating thread)."""


class InlineBudgetExceeded(EvaluationTimeout):
    """An evaluation on the event loop ran past the loop's budget: run it off the loop."""


def _raise_in(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Raise ``exc_type`` in the thread at its next bytecode; ``None`` clears a pending one.

    ``None`` goes to C as NULL (no ``argtypes`` is declared, on purpose: a declared
    ``py_object`` would pass ``Py_None`` instead of NULL).
    """
    exc = ctypes.py_object(exc_type) if exc_type is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


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
                        _raise_in(limit.thread_id, limit.exc_type)


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
            _raise_in(self.thread_id, None)
            if exc_type is None:
                raise self.exc_type


#: The longest an evaluation may hold the event loop before it moves to a thread.
INLINE_BUDGET: Final = 0.07

_POOL: ThreadPoolExecutor | None = None


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
        _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="conductor-eval")
    return _POOL


def _limited(fn: Callable[[], T], seconds: float) -> T:
    with TimeLimit(seconds):
        return fn()


async def evaluate(
    fn: Callable[[], T], *, timeout: float, where: str, what: str, inline: bool = True
) -> T:
    """``fn()`` on the loop if it takes under :data:`INLINE_BUDGET`, else on a thread.

    A pure evaluation (a template render, a JMESPath search) is run inline first, the
    common and cheap case; one that passes the budget is interrupted and run again
    from the start on a thread, stopped there after ``timeout`` seconds in all (a
    :class:`~app.errors.TemplateError` naming ``where``). Cancelling the caller leaves
    the thread to stop at that limit, never later. ``fn`` must have no side effects:
    it may run twice. ``inline=False`` goes to the thread at once (a caller that
    knows the work is large).
    """
    started = time.monotonic()
    if inline:
        try:
            with TimeLimit(min(INLINE_BUDGET, timeout), InlineBudgetExceeded):
                return fn()
        except InlineBudgetExceeded:
            pass
    remaining = timeout - (time.monotonic() - started)
    loop = asyncio.get_running_loop()
    try:
        if remaining <= 0:
            raise EvaluationTimeout
        return await loop.run_in_executor(_pool(), _limited, fn, remaining)
    except EvaluationTimeout:
        from app.errors import TemplateError

        raise TemplateError(
            f"{what} took longer than {timeout:g} s and was stopped", where=where
        ) from None
