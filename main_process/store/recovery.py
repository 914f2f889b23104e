"""Finding executions whose process died, and marking them ``interrupted``.

Several processes may share one data dir. Each running execution records its
owner (an engine id, pid, host) and a lease that the owner renews every few
seconds. Another process marks the execution ``interrupted`` only when that owner
is gone: its pid is dead on this host, its lease has expired, or (same pid) no
engine with that id is alive in this process. The update is conditional on the
status and owner still being what we saw, so two processes never both mark it.

A ``paused`` execution is never marked: whether its owner lives or not, it stays
paused, and once the owner is gone another engine may resume it
(:func:`ensure_paused_claimable`).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import weakref
from typing import Any, NamedTuple

import orjson

from app.errors import ExecutionCancelledError, ResumeError
from app.states import ExecutionStatus, NodeStatus
from main_process.store import Store
from main_process.store.chunks import (
    EventRow,
    NodeRow,
    decode_chunk,
    encode_chunk,
    encode_nodes,
)


class OwnerRow(NamedTuple):
    """Who runs an unfinished execution, and until when its lease holds."""

    id: str
    owner_id: str | None
    owner_pid: int | None
    owner_host: str | None
    lease_until: float | None


#: Engine owner ids alive in this process (an engine registers itself here).
LIVE_OWNERS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

HOST = socket.gethostname()

_OPEN = (ExecutionStatus.PENDING.value, ExecutionStatus.RUNNING.value)
#: Statuses whose owner keeps renewing its lease (a paused run is still looked after).
_LEASED = (*_OPEN, ExecutionStatus.PAUSED.value)
_OPEN_NODES = (NodeStatus.PENDING.value, NodeStatus.RUNNING.value, NodeStatus.RETRYING.value)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def owner_alive(row: OwnerRow, now: float) -> bool:
    """Whether the process that owns this execution row is still looking after it."""
    lease_until = row.lease_until or 0.0
    if lease_until < now:
        return False
    if row.owner_host == HOST and row.owner_pid:
        pid = int(row.owner_pid)
        if pid == os.getpid():
            return row.owner_id in LIVE_OWNERS
        return pid_alive(pid)
    return True


def open_executions(store: Store, only: str | None = None) -> list[OwnerRow]:
    """Unfinished executions (or just ``only``, if it is unfinished) with their owners."""
    sql = (
        "SELECT id, owner_id, owner_pid, owner_host, lease_until FROM executions"
        " WHERE status IN (?, ?)"
    )
    params: tuple[Any, ...] = _OPEN
    if only is not None:
        sql += " AND id = ?"
        params = (*_OPEN, only)
    return [OwnerRow(*row) for row in store.query(sql, params)]


def mark_interrupted(store: Store, execution_id: str, expected_owner: str | None) -> bool:
    """Mark one execution interrupted with its closing events; False if someone else did."""
    now = time.time()
    error = ExecutionCancelledError(
        "the process running this execution stopped before it finished; resume it to go on"
    ).to_info()

    def work(conn: sqlite3.Connection) -> bool:
        cursor = conn.execute(
            "UPDATE executions SET status = ?, finished_at = ?, error_json = ?"
            " WHERE id = ? AND owner_id IS ? AND status IN (?, ?)",
            (
                ExecutionStatus.INTERRUPTED.value,
                now,
                orjson.dumps(error.model_dump()),
                execution_id,
                expected_owner,
                *_OPEN,
            ),
        )
        if cursor.rowcount != 1:
            return False
        (last,) = conn.execute(
            "SELECT COALESCE((SELECT last_seq FROM events WHERE execution_id = ?"
            " ORDER BY first_seq DESC LIMIT 1), 0)",
            (execution_id,),
        ).fetchone()
        seq = int(last)
        rows: list[EventRow] = []
        outcomes: list[tuple[int, NodeRow]] = []
        for node_id, attempt in _open_nodes(conn, execution_id):
            seq += 1
            outcome = NodeRow(
                node_id, NodeStatus.CANCELLED.value, attempt or 0, None, now,
                None, None, None, None, None, None,
            )  # fmt: skip
            outcomes.append((seq, outcome))
            rows.append(
                EventRow(
                    execution_id,
                    seq,
                    now,
                    "node",
                    node_id,
                    NodeStatus.CANCELLED.value,
                    attempt,
                    {"interrupted": True},
                )
            )
        rows.append(
            EventRow(
                execution_id,
                seq + 1,
                now,
                "execution",
                None,
                ExecutionStatus.INTERRUPTED.value,
                None,
                {"error": error.model_dump(exclude_none=True)},
            )
        )
        conn.execute(
            "INSERT INTO events (execution_id, first_seq, last_seq, chunk) VALUES (?, ?, ?, ?)",
            encode_chunk(rows),
        )
        if outcomes:
            conn.execute(
                "INSERT OR REPLACE INTO node_runs (execution_id, first_seq, chunk)"
                " VALUES (?, ?, ?)",
                encode_nodes(execution_id, outcomes),
            )
        return True

    return bool(store.transaction(work))


def _open_nodes(conn: sqlite3.Connection, execution_id: str) -> list[tuple[str, int | None]]:
    """Nodes whose last recorded event left them running or retrying."""
    last: dict[str, tuple[str, int | None]] = {}
    for (chunk,) in conn.execute(
        "SELECT chunk FROM events WHERE execution_id = ? ORDER BY first_seq", (execution_id,)
    ):
        for row in decode_chunk(execution_id, chunk):
            if row[3] == "node" and row[4] is not None and row[5] is not None:
                last[row[4]] = (row[5], row[6])
    return [(nid, attempt) for nid, (status, attempt) in last.items() if status in _OPEN_NODES]


def recover_orphans(store: Store, my_owner_id: str, only: str | None = None) -> list[str]:
    """Mark every execution whose owner is gone as interrupted; returns their ids.

    Blocking (reads, then one transaction per execution): run it off the event loop.
    """
    now = time.time()
    marked = []
    for row in open_executions(store, only):
        if row.owner_id == my_owner_id or owner_alive(row, now):
            continue
        if mark_interrupted(store, row.id, row.owner_id):
            marked.append(row.id)
    return marked


def ensure_paused_claimable(store: Store, execution_id: str, my_owner_id: str) -> None:
    """Raise ResumeError unless the paused execution's owner is gone (or is us), so a
    resume here does not run it twice beside its live owner."""
    row = store.query_one(
        "SELECT id, owner_id, owner_pid, owner_host, lease_until FROM executions"
        " WHERE id = ? AND status = ?",
        (execution_id, ExecutionStatus.PAUSED.value),
    )
    if row is None:
        return
    owner = OwnerRow(*row)
    if owner.owner_id == my_owner_id or not owner_alive(owner, time.time()):
        return
    raise ResumeError(
        f"execution {execution_id!r} is paused by another live process; resume it there",
        where="execution_id",
    )


def renew_leases(store: Store, owner_id: str, lease_seconds: float) -> None:
    """Extend the lease on every unfinished execution this owner runs (queued write)."""
    store.enqueue_lease_renewal(owner_id, time.time() + lease_seconds)
