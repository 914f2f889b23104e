"""SQLite (WAL) store with a batched writer thread.

Why a writer thread: recording every transition of every node must not cost the
executor a disk write. The hot path appends an operation to a deque (thread-safe,
no lock); one writer thread drains it every ``flush_interval`` seconds, or sooner
when ``batch_size`` operations are waiting or someone awaits :meth:`Store.flush`,
and applies each batch in one transaction. Operations are applied strictly in
the order they were queued, so a reader never sees a node's completion without
the events before it.

Durability: ``synchronous=NORMAL`` in WAL mode survives a crash of the process
(not of the machine's power). The engine awaits :meth:`Store.flush` before it
reports an execution finished, so a reported result is always on disk, and
awaits :meth:`Store.group_commit` after each node's completion (group commit:
completions of one loop turn share one transaction), so a killed process never
re-runs a finished node.

A failed write is never dropped: a batch that fails for a reason that may pass
(a full disk, another process holding the lock) is kept, with whatever is queued
after it appended in order, and retried with backoff. Whoever waits for it hears
of the failure only once it has lasted ``store_retry_seconds``
(:mod:`app.limits`); the operations are still retried after that, until the
store closes.

Reads use a second connection guarded by a lock; WAL lets them run beside the
writer. Several processes may share one database: ``busy_timeout`` makes them
wait for each other's short write transactions instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.errors import StoreError
from app.limits import setting
from app.paths import database_path, outputs_dir
from main_process.store.chunks import EventRow, NodeRow
from main_process.store.ops import (
    Flush,
    FlushCallback,
    Op,
    RenewLeases,
    WriteCheckpoint,
    WriteExecution,
    WriteNode,
    WriteSpill,
    WriteVariable,
    apply_batch,
    is_transient,
)
from main_process.store.schema import migrate

log = logging.getLogger(__name__)

#: Serialised outputs larger than this go to a file under ``outputs/``.
SPILL_BYTES = 256 * 1024
#: A flush with at most this many operations queued is applied on the caller's thread.
INLINE_FLUSH_OPS = 2000
#: Operations queued at most: beyond this the caller commits the backlog itself. A
#: producer that never yields the GIL (a node logging in a tight loop) starves the
#: writer thread, which loses the GIL for ~5 ms each time SQLite releases it: 9,500
#: operations took it 2.7 s, and a million events queued ~600 MB, measured.
MAX_QUEUED_OPS = 20_000
#: How long a connection waits for another process's write lock (ms).
BUSY_MS = 10_000
#: Commits between two checkpoints (each commits a few pages: about SQLite's 1,000).
CHECKPOINT_COMMITS = 250
#: Backoff between attempts of a failing batch: first, and most.
RETRY_FIRST, RETRY_MOST = 0.02, 1.0


class Store:
    """Executions, node runs, events, variables and checkpoints in one SQLite file."""

    def __init__(
        self,
        root: Path,
        *,
        flush_interval: float = 0.05,
        batch_size: int = 512,
        spill_bytes: int = SPILL_BYTES,
    ) -> None:
        self.root = root
        self.path = database_path(root)
        self.outputs_dir = outputs_dir(root)
        self.spill_bytes = spill_bytes
        self._interval = flush_interval
        self._batch_size = batch_size
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect()
            migrate(self._conn)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the store at {self.path}: {exc}", where=str(self.path)
            ) from exc
        self._lock = threading.Lock()
        self._wconn = self._connect(checkpoints=False)
        #: For the writer thread's checkpoints (see :meth:`_maybe_checkpoint`).
        self._cconn = self._connect()
        self._commits = 0
        #: For batches applied on a caller's thread (the loop): never waits for another
        #: process's lock, which would hold the loop; such a batch goes to the writer.
        self._iconn = self._connect(busy_ms=0, checkpoints=False)
        #: Held while a batch is applied on ``_wconn``, by the writer or an inline flush.
        self._wlock = threading.Lock()
        self._ops: deque[Op] = deque()
        #: See :data:`MAX_QUEUED_OPS`.
        self.max_queued_ops = MAX_QUEUED_OPS
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

    def _connect(self, busy_ms: int | None = None, checkpoints: bool = True) -> sqlite3.Connection:
        if busy_ms is None:
            busy_ms = BUSY_MS
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_ms / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if not checkpoints:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute(f"PRAGMA busy_timeout={busy_ms}")
        return conn

    # -- queued writes (hot path: no I/O, no lock) -------------------------------

    def enqueue_event(self, row: EventRow) -> None:
        self._ops.append(row)
        self._maybe_wake()

    def enqueue_execution(
        self, execution_id: str, fields: dict[str, Any], *, insert: bool = False
    ) -> None:
        """Insert an executions row, or change some of its columns.

        The changes one batch holds for one execution are merged into a single
        statement: a short run's insert, ``running`` and final update cost one
        write instead of three.
        """
        self._ops.append(WriteExecution(execution_id, fields, insert))
        self._maybe_wake()

    def enqueue_node(self, execution_id: str, seq: int, row: NodeRow) -> None:
        """Record a node's outcome; ``seq`` is its terminal event's. A later record
        for the same node (from a resumed run) supersedes this one."""
        self._ops.append(WriteNode(execution_id, seq, row))
        self._maybe_wake()

    def enqueue_variable(self, execution_id: str, key: str, value_json: bytes) -> None:
        self._ops.append(WriteVariable(execution_id, key, value_json))
        self._maybe_wake()

    def enqueue_checkpoint(
        self,
        execution_id: str,
        checkpoint_id: str,
        name: str | None,
        created_at: float,
        data_json: bytes,
    ) -> None:
        self._ops.append(WriteCheckpoint(execution_id, checkpoint_id, name, created_at, data_json))
        self._maybe_wake()

    def enqueue_lease_renewal(self, owner_id: str, until: float) -> None:
        """Extend the lease on every unfinished execution ``owner_id`` runs."""
        self._ops.append(RenewLeases(owner_id, until))
        self._maybe_wake()

    def enqueue_spill(self, path: Path, data: bytes) -> None:
        """Queue a large output's file; the writer is woken now, so the bytes are
        written and freed while the executor goes on, not held until the next batch."""
        self._ops.append(WriteSpill(path, data))
        with self._cond:
            self._cond.notify()

    def _maybe_wake(self) -> None:
        queued = len(self._ops)
        if queued >= self.max_queued_ops:
            self._catch_up()
        elif queued >= self._batch_size:
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

    def spill_path(self, execution_id: str, node_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in node_id)[:80]
        tag = hashlib.sha1(node_id.encode()).hexdigest()[:8]  # "a/b" and "a_b" differ
        return self.outputs_dir / execution_id / f"{safe}-{tag}.json"

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (raises StoreError if not).

        A small backlog with the writer idle is committed right here, on the
        caller's thread: the caller is waiting anyway, and a hand-off to the
        writer thread and back costs more than the write (~0.5 ms vs ~0.2 ms).
        """
        if self._commit_inline():
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._request_flush(_settler(loop, future))
        await future

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

    def _start_group(self, future: asyncio.Future[None]) -> None:
        if self._group is future:
            self._group = None
        if self._commit_inline():
            if not future.done():
                future.set_result(None)
            return
        self._request_flush(_settler(future.get_loop(), future))

    def _commit_inline(self) -> bool:
        """Commit a small backlog on the caller's thread when the writer is idle and
        healthy; True when done. Otherwise (or on failure, when the operations go back
        to the head of the queue) the caller hands the work to the writer."""
        if self._failing_since is not None or len(self._ops) > INLINE_FLUSH_OPS:
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
        the writer to retry (``_wlock`` is held, so nobody drains meanwhile)."""
        callbacks, error = apply_batch(self._iconn, ops)
        if error is None:
            self._commits += 1
            for callback in callbacks:
                callback(None)
            return True
        if not is_transient(error):
            self._fail_batch(ops, error)
            return True
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self._ops.extendleft(reversed(ops))
        if not _busy(error):
            self._reopen_writer()
        with self._cond:
            self._cond.notify()
        return False

    def _drain(self) -> list[Op]:
        """Everything queued so far, in order. Only the holder of ``_wlock`` drains, and
        producers only append, so the length read first can all be taken."""
        ops = self._ops
        return [ops.popleft() for _ in range(len(ops))]

    def flush_sync(self, timeout: float = 30.0) -> None:
        """Blocking :meth:`flush`, for code outside the event loop."""
        finished = threading.Event()
        box: list[BaseException | None] = [None]

        def done(exc: BaseException | None) -> None:
            box[0] = exc
            finished.set()

        self._request_flush(done)
        if not finished.wait(timeout):
            raise StoreError(f"the store did not commit within {timeout} s", where=str(self.path))
        if box[0] is not None:
            raise _store_error(box[0], self.path)

    def when_committed(self, callback: FlushCallback) -> None:
        """Call ``callback(error)`` once everything queued so far is committed (``error``
        is None) or has failed, without waiting for it: for the hot path, which must
        not await the disk. The callback runs on the writer thread, so it may only
        record the fact (plain assignments) for the loop to act on later."""
        self._request_flush(callback)

    def _request_flush(self, callback: FlushCallback) -> None:
        if not self._thread.is_alive():
            callback(StoreError("the store is closed", where=str(self.path)))
            return
        self._ops.append(Flush(callback))
        with self._cond:
            self._cond.notify()

    def close(self) -> None:
        """Commit what is queued, stop the writer and close both connections."""
        if self._closing:
            return
        self._closing = True
        self._stop.set()
        with self._cond:
            self._cond.notify()
        self._thread.join(timeout=self.retry_seconds + 30.0)
        with self._lock:
            self._conn.close()

    # -- the writer thread -------------------------------------------------------

    def _writer_main(self) -> None:
        while True:
            with self._cond:
                if not self._ops and not self._closing:
                    self._cond.wait(self._interval)
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
        here on the writer thread and without ``_wlock``.

        Why not SQLite's automatic checkpoint: it runs inside the commit that crosses
        its threshold, and with a commit per node completion that is often the loop's
        own (inline) commit, which then waits for two fsyncs (up to 120 ms measured on
        W2). A passive checkpoint needs no write lock, so commits go on meanwhile.
        """
        if self._commits < CHECKPOINT_COMMITS and not (force and self._commits):
            return
        self._commits = 0
        try:
            self._cconn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            log.debug("checkpoint skipped: %s", exc)

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
                    log.warning("store writes succeed again after %.1f s", waited)
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
            if not _busy(error):
                self._reopen_writer()
            if now - self._failing_since >= self.retry_seconds:
                failure = StoreError(
                    f"the store could not write for {now - self._failing_since:.0f} s: {error}",
                    where=str(self.path),
                )
                ops = _without_waiters(ops, failure)
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
            fresh = self._connect(checkpoints=False)
            inline = self._connect(busy_ms=0, checkpoints=False)
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
        _without_waiters(ops, error)

    # -- reads and immediate writes (caller's thread) -----------------------------
    #
    # For the store package's own modules (history, recovery, control), which turn
    # them into domain methods; no code outside ``main_process.store`` writes SQL.
    # They block: callers on the event loop run them through ``asyncio.to_thread``.

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from None

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``work`` in one immediate transaction on the reading connection.

        For the few writes that must be decided now, against what other processes
        wrote (marking another process's execution interrupted).
        """
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(self._conn)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                return result
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from None

    def integrity_check(self) -> str:
        row = self.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"


def _busy(error: BaseException) -> bool:
    """Another process holds the lock: the connection itself is fine."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _without_waiters(ops: list[Op], error: BaseException) -> list[Op]:
    """Tell every flush waiter in ``ops`` of ``error``; the other operations."""
    kept: list[Op] = []
    for op in ops:
        if isinstance(op, Flush):
            op.callback(error)
        else:
            kept.append(op)
    return kept


def _settler(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> FlushCallback:
    def done(exc: BaseException | None) -> None:
        loop.call_soon_threadsafe(_settle, future, exc)

    return done


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(_store_error(exc, None))


def _store_error(exc: BaseException, path: Path | None) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    return StoreError(f"store write failed: {exc}", where=str(path) if path else None)
