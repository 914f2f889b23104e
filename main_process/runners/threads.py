"""Threads for blocking node code, where a stuck thread holds nothing but itself.

A thread cannot be stopped. When a node on the ``thread`` runner outlives its
timeout or is cancelled, the engine stops waiting for it at once, but its code runs
on. With ``concurrent.futures.ThreadPoolExecutor`` that thread would still

* count against the pool's bound: a few stuck nodes and every later thread node
  queues behind them forever; and
* be joined at interpreter exit: a script's process stays until the stuck code
  returns (measured: a ``time.sleep(8)`` node held a finished script for 8 s).

:class:`NodeThreadPool` uses daemon threads that nothing joins, and the engine
:meth:`~NodeThreadPool.abandon`\\ s the thread of a call it gave up on: the thread
stops counting against ``max_threads`` (it finishes its call, then exits), up to
``max_abandoned`` stuck threads at once — past that, new work waits, so runaway
code cannot make threads without bound. Code that must really stop belongs on the
``process`` runner.

:func:`run_blocking` runs a function on the pool of the engine whose node is
running (``python.function`` uses it for plain functions), so node types that
block share the engine's pool instead of the loop's default executor, which
``asyncio.run`` joins at exit.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class NodeThreadPool(Executor):
    """A bounded pool of daemon threads whose stuck threads can be given up on."""

    def __init__(
        self, max_threads: int, *, name: str = "conductor-node", max_abandoned: int | None = None
    ) -> None:
        self.max_threads = max(1, max_threads)
        self.max_abandoned = self.max_threads if max_abandoned is None else max_abandoned
        self._name = name
        self._numbers = itertools.count(1)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._counted: set[threading.Thread] = set()
        self._abandoned: set[threading.Thread] = set()
        self._running: dict[Future[Any], threading.Thread] = {}
        #: Calls queued and not yet taken, and threads blocked waiting to take one:
        #: a call needs a new thread only while the first outnumber the second.
        self._pending = 0
        self._waiting = 0
        self._shutdown = False

    @property
    def abandoned(self) -> int:
        """Threads still running calls the engine gave up on."""
        return len(self._abandoned)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queue.put((future, fn, args, kwargs))
            self._pending += 1
            self._add_thread()
        return future

    def _add_thread(self) -> None:
        """With the lock held: start a thread when queued calls outnumber the threads
        waiting for one, if the bound allows."""
        if self._pending <= self._waiting:
            return
        if len(self._counted) < self.max_threads:
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{next(self._numbers)}", daemon=True
            )
            self._counted.add(thread)
            thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                self._waiting += 1
            item = self._queue.get()
            with self._lock:
                self._waiting -= 1
                if item is not None:
                    self._pending -= 1
            if item is None:
                self._queue.put(None)  # wake the next thread: the pool shut down
                with self._lock:
                    self._counted.discard(me)
                return
            future, fn, args, kwargs = item
            del item
            if future.set_running_or_notify_cancel():
                with self._lock:
                    self._running[future] = me
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # the caller's future carries it, as in the stdlib
                    future.set_exception(exc)
            del fn, args, kwargs
            with self._lock:
                self._running.pop(future, None)
                if me in self._abandoned:  # its slot went to another thread meanwhile
                    self._abandoned.discard(me)
                    return
            del future

    def abandon(self, future: Future[Any]) -> bool:
        """Stop counting the thread running ``future`` (a call nobody waits for now).

        False when the call is not running, or too many threads are stuck already.
        """
        with self._lock:
            thread = self._running.get(future)
            if thread is None or thread not in self._counted:
                return False
            if len(self._abandoned) >= self.max_abandoned:
                log.warning(
                    "%d node threads are stuck past their timeouts; new thread nodes wait "
                    "for them (use runner: process for code that must really stop)",
                    len(self._abandoned) + 1,
                )
                return False
            self._counted.discard(thread)
            self._abandoned.add(thread)
            self._add_thread()  # work queued behind the stuck call gets a thread
            return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no new work; with ``cancel_futures`` drop the queued work. ``wait`` joins
        the threads that are not stuck on abandoned calls (those are never joined)."""
        with self._lock:
            self._shutdown = True
            threads = list(self._counted)
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()


async def run_in_pool(pool: Executor, fn: Callable[..., T], *args: Any) -> T:
    """Await ``fn(*args)`` on ``pool``; if the wait is cancelled (a timeout, a cancel)
    while the call runs, the call's thread is abandoned rather than waited for."""
    context = contextvars.copy_context()
    return await await_in_pool(pool, pool.submit(context.run, functools.partial(fn, *args)))


async def await_in_pool(pool: Executor, future: Future[T]) -> T:
    """Await a call submitted to ``pool``; abandon its thread if the wait is cancelled."""
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        if isinstance(pool, NodeThreadPool) and not future.done():
            pool.abandon(future)
        raise


#: The pool of the engine whose node code is running (set by the engine per node).
current_pool: contextvars.ContextVar[Executor] = contextvars.ContextVar("conductor_node_pool")

_fallback: NodeThreadPool | None = None
_fallback_lock = threading.Lock()


def _default_pool() -> Executor:
    """A pool for node code run outside an engine (tests, a process-runner worker)."""
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            _fallback = NodeThreadPool(32, name="conductor-blocking")
        return _fallback


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """Await ``fn(*args)`` on the running engine's thread pool (see :func:`run_in_pool`)."""
    pool = current_pool.get(None)
    return await run_in_pool(pool if pool is not None else _default_pool(), fn, *args)
