"""The writer queue's operations, and how one batch of them becomes one transaction.

Each operation is a small immutable typed object; :func:`apply_batch` dispatches on
its type with ``match`` (``assert_never`` makes mypy check that every kind is
handled). They are named tuples rather than frozen dataclasses because the hot path
makes one per node and per event: a frozen dataclass costs twice as much to build
(~0.5 µs against ~0.26 µs here), which showed on the W1/W2 benchmarks. An event
needs no wrapper at all: its :class:`~main_process.store.chunks.EventRow` is the
operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, assert_never

from app.errors import StoreError
from app.paths import ensure_private_dir, private_file
from main_process import faults
from main_process.store.chunks import CHUNK_EVENTS, EventRow, NodeRow, encode_chunk, encode_nodes

FlushCallback = Callable[[BaseException | None], None]

#: A chunk's key is its execution's ``runs.number`` * 2**33 + its first seq * 2 + its
#: kind (0 events, 1 node outcomes; see migration 8 in schema.py). The number is given
#: on the execution's first write, so a running execution's chunks append at the right
#: edge of one rowid table (SQLite's quick balance: a new page when a leaf is full),
#: a commit's event and node chunks side by side. Once the execution has a number,
#: RUN_SQL finds it and writes nothing.
RUN_SQL = "INSERT OR IGNORE INTO runs (id) VALUES (?)"
_BASE = "(SELECT number FROM runs WHERE id = ?) * 8589934592"
CHUNK_SQL = f"INSERT OR REPLACE INTO chunks (key, last_seq, chunk) VALUES ({_BASE} + ? * 2, ?, ?)"
NODES_SQL = f"INSERT OR REPLACE INTO chunks (key, chunk) VALUES ({_BASE} + ? * 2 + 1, ?)"
#: Joins ``runs r`` to ``chunks c``: the chunks of run r (both kinds), in seq order.
RUN_CHUNKS = "c.key BETWEEN r.number * 8589934592 AND r.number * 8589934592 + 8589934591"


class WriteExecution(NamedTuple):
    """Insert an executions row, or change some of its columns. The changes one
    batch holds for one execution are merged into one statement."""

    execution_id: str
    fields: dict[str, Any]
    insert: bool = False


class WriteNode(NamedTuple):
    """A node's outcome; ``seq`` is its terminal event's."""

    execution_id: str
    seq: int
    row: NodeRow


class WriteSpill(NamedTuple):
    """A large output's file, written by the writer thread."""

    path: Path
    data: bytes


class WriteVariable(NamedTuple):
    execution_id: str
    key: str
    value_json: bytes


class WriteCheckpoint(NamedTuple):
    execution_id: str
    checkpoint_id: str
    name: str | None
    created_at: float
    data_json: bytes


class WriteStreamChunk(NamedTuple):
    """One chunk of a ``record: full`` stream; ``seq`` 0 replaces an earlier run's."""

    execution_id: str
    node_id: str
    seq: int
    first_item: int
    items: int
    data: bytes


class Flush(NamedTuple):
    """Call ``callback(error)`` once everything queued before it is committed."""

    callback: FlushCallback


#: One queued operation.
Op = (
    EventRow
    | WriteExecution
    | WriteNode
    | WriteSpill
    | WriteVariable
    | WriteCheckpoint
    | WriteStreamChunk
    | Flush
)


def apply_batch(
    conn: sqlite3.Connection, ops: list[Op]
) -> tuple[list[FlushCallback], BaseException | None]:
    """Apply one batch in one transaction; returns the flush callbacks it held (for
    the caller to call) and the error that rolled it back, if any.

    Statements run in queue order; node rows and event chunks go last, in bulk. That
    is safe because nothing else in a batch reads them, and a node's row is
    only ever replaced whole, so the last row queued for a node is its state.
    """
    callbacks: list[FlushCallback] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        nodes = _apply_ops(conn, ops, callbacks)
        if nodes:
            faults.fault_point("store.before_completion_write")
        conn.execute("COMMIT")
        if nodes:
            faults.fault_point("store.after_completion_write")
    except (sqlite3.Error, OSError, TypeError, ValueError) as exc:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # gone with the failure that ended it
                conn.execute("ROLLBACK")
        # Everyone waiting on this batch hears of the failure, also those queued
        # after the operation that failed.
        return [op.callback for op in ops if isinstance(op, Flush)], exc
    return callbacks, None


def is_transient(error: BaseException) -> bool:
    """A failure that may pass (a full disk, another process holding the lock, an I/O
    error), so the batch is worth retrying; anything else means what was queued is
    malformed and no retry can help."""
    return isinstance(error, sqlite3.OperationalError | OSError)


def is_busy(error: BaseException) -> bool:
    """Another process holds the lock: the connection itself is fine."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def without_waiters(ops: list[Op], error: BaseException) -> list[Op]:
    """Tell every flush waiter in ``ops`` of ``error``; the other operations."""
    kept: list[Op] = []
    for op in ops:
        if isinstance(op, Flush):
            op.callback(error)
        else:
            kept.append(op)
    return kept


def settler(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> FlushCallback:
    """A flush callback that settles ``future`` on its loop (from the writer thread)."""

    def done(exc: BaseException | None) -> None:
        loop.call_soon_threadsafe(_settle, future, exc)

    return done


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(store_error(exc, None))


def store_error(exc: BaseException, path: Path | None) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    return StoreError(f"store write failed: {exc}", where=str(path) if path else None)


def _apply_ops(conn: sqlite3.Connection, ops: list[Op], callbacks: list[FlushCallback]) -> bool:
    """The statements of one batch, inside its transaction; collects the flush
    callbacks into ``callbacks``; True if the batch held node rows."""
    events: dict[str, list[EventRow]] = {}
    nodes: dict[str, list[tuple[int, NodeRow]]] = {}
    executions: dict[str, tuple[bool, dict[str, Any]]] = {}
    for op in ops:
        match op:
            case EventRow():
                events.setdefault(op.execution_id, []).append(op)
            case WriteNode():
                nodes.setdefault(op.execution_id, []).append((op.seq, op.row))
            case WriteExecution():
                seen = executions.get(op.execution_id)
                if seen is None:
                    executions[op.execution_id] = (op.insert, dict(op.fields))
                else:
                    seen[1].update(op.fields)
            case WriteVariable():
                conn.execute(
                    "INSERT OR REPLACE INTO variables (execution_id, key, value_json)"
                    " VALUES (?, ?, ?)",
                    (op.execution_id, op.key, op.value_json),
                )
            case WriteCheckpoint():
                conn.execute(
                    "INSERT INTO checkpoints"
                    " (execution_id, checkpoint_id, name, created_at, data_json)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (op.execution_id, op.checkpoint_id, op.name, op.created_at, op.data_json),
                )
            case WriteSpill():
                _write_file(op.path, op.data)
            case WriteStreamChunk():
                if op.seq == 0:  # a re-run (resume) records its stream afresh
                    conn.execute(
                        "DELETE FROM stream_chunks WHERE execution_id = ? AND node_id = ?",
                        (op.execution_id, op.node_id),
                    )
                conn.execute(
                    "INSERT OR REPLACE INTO stream_chunks"
                    " (execution_id, node_id, seq, first_item, items, data)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (op.execution_id, op.node_id, op.seq, op.first_item, op.items, op.data),
                )
            case Flush():
                callbacks.append(op.callback)
            case _:
                assert_never(op)
    for execution_id, (insert, fields) in executions.items():
        _write_execution(conn, execution_id, insert, fields)
    if nodes or events:
        conn.executemany(RUN_SQL, [(eid,) for eid in nodes.keys() | events.keys()])
    if nodes:
        conn.executemany(NODES_SQL, [encode_nodes(e, rows) for e, rows in nodes.items()])
    if events:
        chunks = [
            encode_chunk(rows[i : i + CHUNK_EVENTS])
            for rows in events.values()
            for i in range(0, len(rows), CHUNK_EVENTS)
        ]
        if faults.armed():
            conn.executemany(CHUNK_SQL, chunks[:1])
            faults.fault_point("store.mid_event_batch")
            chunks = chunks[1:]
        conn.executemany(CHUNK_SQL, chunks)
    return bool(nodes)


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
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    with os.fdopen(private_file(tmp), "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
