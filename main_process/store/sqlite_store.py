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
reports an execution finished, so a reported result is always on disk.

Reads use a second connection guarded by a lock; WAL lets them run beside the
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
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from app.errors import StoreError
from app.paths import database_path, outputs_dir
from main_process import faults
from main_process.store.chunks import (
    CHUNK_EVENTS,
    EventRow,
    NodeRow,
    decode_nodes,
    encode_chunk,
    encode_nodes,
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

_CHUNK_SQL = (
    "INSERT OR REPLACE INTO events (execution_id, first_seq, last_seq, chunk) VALUES (?, ?, ?, ?)"
)

_NODES_SQL = "INSERT OR REPLACE INTO node_runs (execution_id, first_seq, chunk) VALUES (?, ?, ?)"

FlushCallback = Callable[[BaseException | None], None]


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
        self._wconn = self._connect()
        #: Held while a batch is applied on ``_wconn``, by the writer or an inline flush.
        self._wlock = threading.Lock()
        self._ops: deque[tuple[Any, ...]] = deque()
        #: See :data:`MAX_QUEUED_OPS`.
        self.max_queued_ops = MAX_QUEUED_OPS
        self._cond = threading.Condition()
        self._closing = False
        self.write_error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._writer_main, name="conductor-store", daemon=True
        )
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    # -- queued writes (hot path: no I/O, no lock) -------------------------------

    def enqueue_sql(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._ops.append(("sql", sql, params))
        self._maybe_wake()

    def enqueue_event(self, row: EventRow) -> None:
        self._ops.append(("event", row))
        self._maybe_wake()

    def enqueue_execution(
        self, execution_id: str, fields: dict[str, Any], *, insert: bool = False
    ) -> None:
        """Insert an executions row, or change some of its columns.

        The changes one batch holds for one execution are merged into a single
        statement: a short run's insert, ``running`` and final update cost one
        write instead of three.
        """
        self._ops.append(("execution", execution_id, fields, insert))
        self._maybe_wake()

    def enqueue_node(self, execution_id: str, seq: int, row: NodeRow) -> None:
        """Record a node's outcome; ``seq`` is its terminal event's. A later record
        for the same node (from a resumed run) supersedes this one."""
        self._ops.append(("node", execution_id, seq, row))
        self._maybe_wake()

    def enqueue_spill(self, path: Path, data: bytes) -> None:
        """Queue a large output's file; the writer is woken now, so the bytes are
        written and freed while the executor goes on, not held until the next batch."""
        self._ops.append(("spill", path, data))
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
        if self._closing:
            return
        with self._wlock:
            ops = self._drain()
            if ops:
                self._apply(self._wconn, ops)

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
        if len(self._ops) <= INLINE_FLUSH_OPS and self._wlock.acquire(blocking=False):
            try:
                ops = self._drain()
                error = self._apply(self._wconn, ops) if ops else None
            finally:
                self._wlock.release()
            if error is not None:
                raise _store_error(error, self.path)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(exc: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, exc)

        self._request_flush(done)
        await future

    def _drain(self) -> list[tuple[Any, ...]]:
        ops: list[tuple[Any, ...]] = []
        while self._ops:
            ops.append(self._ops.popleft())
        return ops

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
        self._ops.append(("flush", callback))
        with self._cond:
            self._cond.notify()

    def close(self) -> None:
        """Commit what is queued, stop the writer and close both connections."""
        if self._closing:
            return
        self._closing = True
        with self._cond:
            self._cond.notify()
        self._thread.join(timeout=30.0)
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
                    self._apply(self._wconn, ops)
                elif self._closing:
                    self._wconn.close()
                    return

    def _apply(self, conn: sqlite3.Connection, ops: list[tuple[Any, ...]]) -> BaseException | None:
        """Apply one batch in one transaction.

        Statements run in queue order; node rows and event chunks go last, in bulk. That
        is safe because nothing else in a batch reads them, and a node's row is
        only ever replaced whole, so the last row queued for a node is its state.
        """
        callbacks: list[FlushCallback] = []
        events: dict[str, list[EventRow]] = {}
        nodes: dict[str, list[tuple[int, NodeRow]]] = {}
        executions: dict[str, tuple[bool, dict[str, Any]]] = {}
        error: BaseException | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in ops:
                kind = op[0]
                if kind == "event":
                    row = op[1]
                    events.setdefault(row[0], []).append(row)
                elif kind == "node":
                    nodes.setdefault(op[1], []).append((op[2], op[3]))
                elif kind == "execution":
                    seen = executions.get(op[1])
                    if seen is None:
                        executions[op[1]] = (op[3], dict(op[2]))
                    else:
                        seen[1].update(op[2])
                elif kind == "sql":
                    conn.execute(op[1], op[2])
                elif kind == "spill":
                    _write_file(op[1], op[2])
                elif kind == "flush":
                    callbacks.append(op[1])
            for execution_id, (insert, fields) in executions.items():
                _write_execution(conn, execution_id, insert, fields)
            if nodes:
                conn.executemany(_NODES_SQL, [encode_nodes(e, rows) for e, rows in nodes.items()])
            if events:
                chunks = [
                    encode_chunk(rows[i : i + CHUNK_EVENTS])
                    for rows in events.values()
                    for i in range(0, len(rows), CHUNK_EVENTS)
                ]
                if faults.armed():
                    conn.executemany(_CHUNK_SQL, chunks[:1])
                    faults.fault_point("store.mid_event_batch")
                    chunks = chunks[1:]
                conn.executemany(_CHUNK_SQL, chunks)
            if nodes:
                faults.fault_point("store.before_completion_write")
            conn.execute("COMMIT")
            if nodes:
                faults.fault_point("store.after_completion_write")
        except (sqlite3.Error, OSError, TypeError, ValueError) as exc:
            error = exc
            self.write_error = exc
            log.error("store write failed (%d operations): %s", len(ops), exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        for callback in callbacks:
            callback(error)
        return error

    # -- reads and immediate writes (caller's thread) -----------------------------

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

    def node_outcomes(self, execution_id: str) -> dict[str, dict[str, Any]]:
        """The latest recorded outcome of each node (spilled outputs read back)."""
        outcomes: dict[str, dict[str, Any]] = {}
        for row in self.query(
            "SELECT chunk FROM node_runs WHERE execution_id = ? ORDER BY first_seq",
            (execution_id,),
        ):
            for record in decode_nodes(row["chunk"]):
                outcomes[record["node_id"]] = record
        for record in outcomes.values():
            path = record["output_path"]
            if path is not None and record["output"] is None:
                try:
                    record["output"] = orjson.loads(Path(path).read_bytes())
                except (OSError, orjson.JSONDecodeError) as exc:
                    raise StoreError(
                        f"spilled output of node {record['node_id']!r} is unreadable: {exc}",
                        where=str(path),
                    ) from None
        return outcomes

    def integrity_check(self) -> str:
        row = self.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"


def _write_execution(
    conn: sqlite3.Connection, execution_id: str, insert: bool, fields: dict[str, Any]
) -> None:
    # Column names come from the state manager, never from users.
    if insert:
        columns = ", ".join(["id", *fields])
        marks = ", ".join("?" * (len(fields) + 1))
        conn.execute(
            f"INSERT INTO executions ({columns}) VALUES ({marks})", (execution_id, *fields.values())
        )
    elif fields:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        conn.execute(
            f"UPDATE executions SET {assignments} WHERE id = ?", (*fields.values(), execution_id)
        )


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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


def placeholders(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)
