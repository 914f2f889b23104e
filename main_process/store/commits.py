"""The store's writer side: its queue of operations, committed in order, never dropped.

Why a writer thread: recording every transition of every node must not cost the
executor a disk write. The hot path appends an operation to a deque (thread-safe,
no lock); one writer thread drains it every ``flush_interval`` seconds, or sooner
when ``batch_size`` operations are waiting or someone awaits a flush, and applies
each batch in one transaction. Operations are applied strictly in the order they
were queued, so a reader never sees a node's completion without the events
before it. A small backlog with the writer idle is committed on the caller's
thread instead (a hand-off costs more than the write), on a connection that
never waits for another process's lock (that would hold the loop).

A failed write is never dropped: a batch that fails for a reason that may pass
(a full disk, another process holding the lock, an I/O error) is kept, with
whatever is queued after it appended in order, and retried with backoff on a
fresh connection. Whoever waits for it hears of the failure only once it has
lasted ``store_retry_seconds`` (:mod:`app.limits`); the operations are still
retried after that, until the store closes. A batch that can never succeed
(malformed: a bug, or a constraint) fails its waiters at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path

from app.errors import StoreError
from app.limits import setting
from main_process.store.ops import (
    Flush,
    FlushCallback,
    Op,
    apply_batch,
    is_busy,
    is_transient,
    settler,
    store_error,
    without_waiters,
)

log = logging.getLogger(__name__)

#: A flush with at most this many operations queued is applied on the caller's thread,
INLINE_FLUSH_OPS = 2000
#: and at most this many bytes of values queued: a new execution's 5 MB blueprint
#: written inline held the loop 100-170 ms, measured; the writer thread writes it in
#: order while the loop runs (SQLite releases the GIL). See ``Store.enqueue_*``.
INLINE_FLUSH_BYTES = 256 * 1024
#: Operations queued at most: beyond this the caller commits the backlog itself. A
#: producer that never yields the GIL (a node logging in a tight loop) starves the
#: writer thread, which loses the GIL for ~5 ms each time SQLite releases it: 9,500
#: operations took it 2.7 s, and a million events queued ~600 MB, measured.
MAX_QUEUED_OPS = 20_000
#: How long a connection waits for another process's write lock (ms).
BUSY_MS = 10_000
#: Commits between two checkpoints (each commits a few pages: about SQLite's 1,000).
CHECKPOINT_COMMITS = 250
#: A WAL longer than this many frames (~16 MB) is copied out with commits held.
WAL_RESTART_FRAMES = 4096
RETRY_FIRST, RETRY_MOST = 0.02, 1.0  # backoff between attempts of a failing batch


def connect(path: Path, busy_ms: int | None = None, checkpoints: bool = True) -> sqlite3.Connection:
    """A connection in WAL mode, ``synchronous=NORMAL`` (survives a killed process),
    waiting ``busy_ms`` (default :data:`BUSY_MS`) for another process's lock."""
    busy_ms = BUSY_MS if busy_ms is None else busy_ms
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_ms / 1000
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if not checkpoints:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    except BaseException:
        conn.close()  # else its file stays open until the error is collected
        raise
    return conn


class Committer:
    """Commits one store's queued operations: by its writer thread, or inline."""

    def __init__(self, path: Path, *, flush_interval: float, batch_size: int) -> None:
        self.path = path
        self.interval = flush_interval
        self.batch_size = batch_size
        self.ops: deque[Op] = deque()
        self.queued_bytes = 0  # of large values queued since the last drain (the Store's count)
        self.max_queued_ops = MAX_QUEUED_OPS  # see there
        self._wconn = connect(path, checkpoints=False)
        #: For batches applied on a caller's thread (the loop): never waits for another
        #: process's lock; such a batch goes to the writer.
        self._iconn = connect(path, busy_ms=0, checkpoints=False)
        self._cconn = connect(path)  # the writer thread's checkpoints (_maybe_checkpoint)
        self._commits = 0
        #: Held while a batch is applied, by the writer or inline.
        self._wlock = threading.Lock()
        self._cond = threading.Condition()
        self._closing = False
        self.write_error: BaseException | None = None
        #: How long a failing write is retried before its waiters hear of it.
        self.retry_seconds = setting("store_retry_seconds")
        #: When the current run of failed writes began (monotonic), None when writes succeed.
        self._failing_since: float | None = None
        self._stop = threading.Event()
        self._group: asyncio.Future[None] | None = None
        self._thread = threading.Thread(
            target=self._writer_main, name="conductor-store", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Have the writer commit now, not at its next interval."""
        with self._cond:
            self._cond.notify()

    def add_bytes(self, size: int) -> None:
        """Count a large queued value; past :data:`INLINE_FLUSH_BYTES` the writer starts
        on the backlog now, and no flush commits it on the caller's thread."""
        self.queued_bytes += size
        if self.queued_bytes > INLINE_FLUSH_BYTES:
            self.wake()

    def maybe_wake(self) -> None:
        queued = len(self.ops)
        if queued >= self.max_queued_ops:
            self._catch_up()
        elif queued >= self.batch_size:
            with self._cond:
                self._cond.notify()

    def _catch_up(self) -> None:
        """Back-pressure: commit the backlog on the caller's thread. Waiting for the
        writer's batch first releases the GIL, so that batch finishes at full speed;
        order is kept, since whoever holds ``_wlock`` drains and applies."""
        if self._closing or self._failing_since is not None:
            return  # the writer is retrying a failed batch: back-pressure would only block
        with self._wlock:
            ops = self._drain()
            if ops:
                self._apply_inline(ops)

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (raises StoreError if not).

        A small backlog with the writer idle is committed right here, on the caller's
        thread: a hand-off to the writer and back costs more (~0.5 ms vs ~0.2 ms)."""
        waiter = self._inline_or_writer()
        if waiter is not None:
            await waiter

    def group_commit(self) -> asyncio.Future[None]:
        """A future resolved once everything queued so far is committed.

        Group commit: every caller in the same turn of the loop gets the same future,
        and one transaction is started for them all at the end of the turn (on this
        thread when the writer is idle, else by the writer together with whatever it
        has queued). Await it through ``asyncio.shield``: it is shared.
        """
        loop = asyncio.get_running_loop()
        future = self._group
        if future is None or future.get_loop() is not loop:
            future = self._group = loop.create_future()
            loop.call_soon(self._start_group, future)
        return future

    def commit_now(self) -> asyncio.Future[None] | None:
        """None once everything queued is committed here and now — when nothing else
        waits in this turn of the loop (a chain's node completes alone: no group of one
        a turn later) — else a (maybe shared) future to await through ``shield``. A
        failed inline attempt queues the waiter behind the batch it put back."""
        ready = getattr(asyncio.get_running_loop(), "_ready", None)  # asyncio's own loops
        if self._group is not None or ready is None or ready:
            return self.group_commit()  # a group is (or may be) forming in this turn
        return self._inline_or_writer()

    def _inline_or_writer(self) -> asyncio.Future[None] | None:
        """Commit inline (None), else queue a waiter for the writer (its future)."""
        if self._commit_inline():
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.request_flush(settler(loop, future))
        return future

    def _start_group(self, future: asyncio.Future[None]) -> None:
        if self._group is future:
            self._group = None
        if self._commit_inline():
            if not future.done():
                future.set_result(None)
            return
        self.request_flush(settler(future.get_loop(), future))

    def _commit_inline(self) -> bool:
        """Commit a small backlog on the caller's thread when the writer is idle and
        healthy; True when done. Otherwise (or on failure, when the operations go back
        to the head of the queue) the caller hands the work to the writer."""
        if self._failing_since is not None or len(self.ops) > INLINE_FLUSH_OPS:
            return False
        if self.queued_bytes > INLINE_FLUSH_BYTES:
            return False
        if not self._wlock.acquire(blocking=False):
            return False
        try:
            ops = self._drain()
            return not ops or self._apply_inline(ops)
        finally:
            self._wlock.release()

    def _apply_inline(self, ops: list[Op]) -> bool:
        """Apply a batch on the caller's thread, without waiting for another process's
        lock; on failure the batch goes back to the head of the queue, in order, for
        the writer to retry or fail (``_wlock`` is held, so nobody drains meanwhile)."""
        callbacks, error = apply_batch(self._iconn, ops)
        if error is None:
            self._commits += 1
            for callback in callbacks:
                callback(None)
            return True
        self.ops.extendleft(reversed(ops))
        if is_transient(error):
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            if not is_busy(error):
                self._reopen_writer()
        with self._cond:
            self._cond.notify()
        return False

    def _drain(self) -> list[Op]:
        """Everything queued so far, in order. Only the holder of ``_wlock`` drains, and
        producers only append, so the length read first can all be taken."""
        ops = self.ops
        self.queued_bytes = 0  # one counted after this drain costs only one hand-off more
        return [ops.popleft() for _ in range(len(ops))]

    def flush_sync(self, timeout: float = 30.0) -> None:
        """Blocking :meth:`flush`, for code outside the event loop."""
        finished = threading.Event()
        box: list[BaseException | None] = [None]

        def done(exc: BaseException | None) -> None:
            box[0] = exc
            finished.set()

        self.request_flush(done)
        if not finished.wait(timeout):
            raise StoreError(f"the store did not commit within {timeout} s", where=str(self.path))
        if box[0] is not None:
            raise store_error(box[0], self.path)

    def request_flush(self, callback: FlushCallback) -> None:
        if not self._thread.is_alive():
            callback(StoreError("the store is closed", where=str(self.path)))
            return
        self.ops.append(Flush(callback))
        with self._cond:
            self._cond.notify()

    def close(self) -> None:
        """Commit what is queued, stop the writer and close its connections."""
        if self._closing:
            return
        self._closing = True
        self._stop.set()
        with self._cond:
            self._cond.notify()
        self._thread.join(timeout=self.retry_seconds + 30.0)

    # -- the writer thread -------------------------------------------------------

    def _writer_main(self) -> None:
        while True:
            with self._cond:
                if not self.ops and not self._closing:
                    self._cond.wait(self.interval)
            with self._wlock:
                ops = self._drain()
                if ops:
                    self._commit(ops)
                elif self._closing:
                    self._wconn.close()
                    self._iconn.close()
                    self._maybe_checkpoint(force=True)
                    self._cconn.close()
                    return
            self._maybe_checkpoint()

    def _maybe_checkpoint(self, force: bool = False) -> None:
        """Copy the WAL into the database file every :data:`CHECKPOINT_COMMITS` commits,
        here on the writer thread and without ``_wlock`` (but see below).

        Why not SQLite's automatic checkpoint: it runs inside the commit that crosses
        its threshold, and with a commit per node completion that is often the loop's
        own (inline) commit, which then waits for two fsyncs (up to 120 ms measured on
        W2). A passive checkpoint needs no write lock, so commits go on meanwhile.
        """
        if self._commits < CHECKPOINT_COMMITS and not (force and self._commits):
            return
        self._commits = 0
        try:
            frames = self._cconn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
            if frames > WAL_RESTART_FRAMES and not force:
                # Commits went on meanwhile (a busy engine commits every node), so the
                # WAL was never all copied when a writer began, and no writer could
                # start it over: it grew without end (1 GB after 400 W2 runs, measured;
                # each page read searches a longer WAL index). Copy the rest with this
                # process's commits held (8-18 ms measured under load, its fsyncs, once
                # per ~16 MB of WAL); the next commit then starts the WAL over.
                with self._wlock:
                    self._cconn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.debug("checkpoint skipped: %s", exc)
            if not is_busy(exc):  # a full disk can leave the connection in error
                with contextlib.suppress(sqlite3.Error):
                    self._cconn.close()
                    self._cconn = connect(self.path)

    def _commit(self, ops: list[Op]) -> None:
        """Apply one batch in one transaction (see :func:`apply_batch`), retrying it
        while it fails for a reason that may pass, then tell whoever waits for it.

        Operations queued while it fails join the batch behind it, so order holds.
        Once failures have lasted ``retry_seconds``, the waiters hear a
        :class:`StoreError` (and new ones at once), but the operations are kept and
        retried until the store closes.
        """
        delay = RETRY_FIRST
        while True:
            callbacks, error = apply_batch(self._wconn, ops)
            if error is None:
                self._commits += 1
                if self._failing_since is not None:
                    waited = time.monotonic() - self._failing_since
                    # A lock held a moment by another process is routine: say so only
                    # when writes were held up long enough for someone to notice.
                    level = logging.WARNING if waited >= 1.0 else logging.DEBUG
                    log.log(level, "store writes succeed again after %.1f s", waited)
                    self._failing_since = None
                    self.write_error = None
                for callback in callbacks:
                    callback(None)
                return
            if not is_transient(error):
                self._fail_batch(ops, error)
                return
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            if self.write_error is None:
                log.error("store write failed, retrying (%d operations): %s", len(ops), error)
            self.write_error = error
            ops.extend(self._drain())
            if not is_busy(error):
                self._reopen_writer()
            if now - self._failing_since >= self.retry_seconds:
                failure = StoreError(
                    f"the store could not write for {now - self._failing_since:.0f} s: {error}",
                    where=str(self.path),
                )
                ops = without_waiters(ops, failure)
                if self._closing:
                    log.error("store closed with %d operations not written: %s", len(ops), error)
                    return
            if not self._stop.wait(delay):
                delay = min(delay * 2, RETRY_MOST)
            else:
                time.sleep(delay)  # closing: still one attempt per backoff step

    def _reopen_writer(self) -> None:
        """A connection that hit a full disk or an I/O error can stay in SQLite's error
        state (measured: every retry failed after the space was back); the next
        attempt gets a fresh one, if it can be had yet. With ``_wlock`` held."""
        try:
            fresh = connect(self.path, checkpoints=False)
            inline = connect(self.path, busy_ms=0, checkpoints=False)
        except sqlite3.Error:
            return
        for old in (self._wconn, self._iconn):
            with contextlib.suppress(sqlite3.Error):
                old.close()
        self._wconn, self._iconn = fresh, inline

    def _fail_batch(self, ops: list[Op], error: BaseException) -> None:
        """A batch that can never succeed (what was queued is malformed: a bug):
        dropped, loudly, and its waiters told."""
        self.write_error = error
        log.error("store write failed, not retryable (%d operations): %s", len(ops), error)
        without_waiters(ops, error)
