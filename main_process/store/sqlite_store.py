"""SQLite (WAL) store: the one object that speaks to the database file.

Writes are queued: the hot path appends a typed operation, and the store's
:class:`~main_process.store.commits.Committer` commits them in order, in
batches, off the loop, retrying a failed batch rather than dropping it (see its
module). Durability: ``synchronous=NORMAL`` in WAL mode survives a crash of the
process (not of the machine's power). The engine awaits :meth:`Store.flush`
before it reports an execution finished, and :meth:`Store.group_commit` after
each node's completion (completions of one loop turn share one transaction), so
a reported result is on disk and a killed process never re-runs a finished node.

Reads use another connection guarded by a lock; WAL lets them run beside the
writer. Several processes may share one database: ``busy_timeout`` makes them
wait for each other's short write transactions instead of failing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.errors import StoreError
from app.paths import database_path, ensure_private_dir, outputs_dir, private_file
from main_process.store.chunks import EventRow, NodeRow
from main_process.store.commits import Committer, connect
from main_process.store.ops import (
    FlushCallback,
    WriteCheckpoint,
    WriteExecution,
    WriteNode,
    WriteSpill,
    WriteStreamChunk,
    WriteVariable,
    store_error,
)
from main_process.store.read_only import (
    ReadOnlyWriter,
    not_writable,
    open_read_only,
    read_only_error,
)
from main_process.store.schema import migrate

log = logging.getLogger(__name__)

#: Serialised outputs larger than this go to a file under ``outputs/``.
SPILL_BYTES = 256 * 1024
#: A queued value over this many bytes is counted towards the committer's
#: ``INLINE_FLUSH_BYTES`` (smaller ones are not: the hot path stays a bare append).
SMALL_BYTES = 16 * 1024


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
        #: True when the data dir may not be written: reads work, writes raise
        #: StoreError naming it (see :mod:`main_process.store.read_only`).
        self.read_only = False
        self._writer: Committer | ReadOnlyWriter
        try:
            ensure_private_dir(root)
            if not self.path.exists():  # created 0600: SQLite gives -wal/-shm the same mode
                os.close(private_file(self.path))
            self._conn = connect(self.path)
            try:
                migrate(self._conn)
            except BaseException:
                self._conn.close()
                raise
        except (OSError, sqlite3.Error) as exc:
            if not not_writable(root, self.path, exc):
                raise StoreError(
                    f"cannot open the store at {self.path}: {exc}", where=str(self.path)
                ) from exc
            self._conn = open_read_only(self.path)
            self.read_only = True
        self._lock = threading.Lock()
        if self.read_only:
            self._writer = ReadOnlyWriter(root)
        else:
            self._writer = Committer(
                self.path, flush_interval=flush_interval, batch_size=batch_size
            )
        self._ops = self._writer.ops
        self._maybe_wake = self._writer.maybe_wake
        self._closed = False

    @property
    def write_error(self) -> BaseException | None:
        """The last failed write's error, while writes fail (None once one succeeds)."""
        return self._writer.write_error

    @property
    def retry_seconds(self) -> float:
        """How long a failing write is retried before its waiters hear of it."""
        return self._writer.retry_seconds

    @retry_seconds.setter
    def retry_seconds(self, value: float) -> None:
        self._writer.retry_seconds = value

    @property
    def max_queued_ops(self) -> int:
        """See :data:`~main_process.store.commits.MAX_QUEUED_OPS`."""
        return self._writer.max_queued_ops

    @max_queued_ops.setter
    def max_queued_ops(self, value: int) -> None:
        self._writer.max_queued_ops = value

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
        size = sum(len(v) for v in fields.values() if isinstance(v, bytes | str))
        if size > SMALL_BYTES:
            self._writer.add_bytes(size)
        self._maybe_wake()

    def enqueue_node(self, execution_id: str, seq: int, row: NodeRow) -> None:
        """Record a node's outcome; ``seq`` is its terminal event's. A later record
        for the same node (from a resumed run) supersedes this one."""
        self._ops.append(WriteNode(execution_id, seq, row))
        size = len(row.output or b"") + len(row.input or b"")
        if size > SMALL_BYTES:
            self._writer.add_bytes(size)
        self._maybe_wake()

    def enqueue_variable(self, execution_id: str, key: str, value_json: bytes) -> None:
        self._ops.append(WriteVariable(execution_id, key, value_json))
        if len(value_json) > SMALL_BYTES:
            self._writer.add_bytes(len(value_json))
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
        if len(data_json) > SMALL_BYTES:
            self._writer.add_bytes(len(data_json))
        self._maybe_wake()

    def enqueue_stream_chunk(
        self, execution_id: str, node_id: str, seq: int, first_item: int, items: int, data: bytes
    ) -> None:
        """Queue one chunk of a ``record: full`` stream (see :mod:`main_process.streams`)."""
        self._ops.append(WriteStreamChunk(execution_id, node_id, seq, first_item, items, data))
        self._writer.add_bytes(len(data))
        self._maybe_wake()

    def enqueue_spill(self, path: Path, data: bytes) -> None:
        """Queue a large output's file; the writer is woken now, so the bytes are
        written and freed while the executor goes on, not held until the next batch."""
        self._ops.append(WriteSpill(path, data))
        self._writer.wake()

    def spill_path(self, execution_id: str, node_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in node_id)[:80]
        tag = hashlib.sha1(node_id.encode()).hexdigest()[:8]  # "a/b" and "a_b" differ
        return self.outputs_dir / execution_id / f"{safe}-{tag}.json"

    def check_writable(self, doing: str = "record anything") -> None:
        """Raise StoreError naming the data dir when it is read-only: for a writing
        operation to refuse before it starts, rather than fail part way."""
        if self.read_only:
            raise read_only_error(self.root, doing)

    def when_committed(self, callback: FlushCallback) -> None:
        """Call ``callback(error)`` once everything queued so far is committed (``error``
        is None) or has failed, without waiting for it: for the hot path, which must
        not await the disk. The callback runs on the writer thread, so it may only
        record the fact (plain assignments) for the loop to act on later."""
        self._writer.request_flush(callback)

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (raises StoreError if not)."""
        await self._writer.flush()

    def flush_sync(self, timeout: float = 30.0) -> None:
        """Blocking :meth:`flush`, for code outside the event loop."""
        self._writer.flush_sync(timeout)

    def group_commit(self) -> asyncio.Future[None]:
        """See :meth:`Committer.group_commit` (await it through ``asyncio.shield``)."""
        return self._writer.group_commit()

    def commit_now(self) -> asyncio.Future[None] | None:
        """See :meth:`Committer.commit_now` (await a returned future through
        ``asyncio.shield``)."""
        return self._writer.commit_now()

    def close(self) -> None:
        """Commit what is queued, stop the writer and close the connections."""
        self._writer.close()
        with self._lock:
            self._conn.close()
            self._closed = True

    # -- reads and immediate writes (caller's thread) -----------------------------
    #
    # For the store package's own modules (history, recovery, control), which turn
    # them into domain methods; no code outside ``main_process.store`` writes SQL.
    # They block: callers on the event loop run them through ``asyncio.to_thread``.

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read. After :meth:`close` reads still work (a follower that lags
        behind a closing engine reads the rest of the record), each on its own
        short-lived read-only connection."""
        try:
            with self._lock:
                if self._closed:
                    return _read_only(self.path, sql, params)
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
        self.check_writable()
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


def _read_only(path: Path, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    conn = open_read_only(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _store_error(exc: BaseException, path: Path | None) -> StoreError:
    return store_error(exc, path)
