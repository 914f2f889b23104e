"""Finding executions whose process died, and marking them ``interrupted``.

Several processes may share one data dir. Each running execution records its
owner: an engine id, pid and host, and the name of the lock file that engine holds
for as long as it lives (:mod:`main_process.store.owner_lock`). Whether the owner
is alive is asked of the operating system, which drops a process's locks when it
dies and never while it lives: no lease, nothing the owner's event loop must keep
renewing, so a loop blocked for minutes never lets another process declare its
executions dead (a resume there would run them a second time beside the original).
The update is conditional on the status and owner still being what we saw, so two
processes never both mark it.

Rows written before lock files existed (or by an engine that could not create one,
or by the seed's state manager) fall back to the process id: dead when its pid is
gone on this host (same pid: when no engine with that id is alive in this process),
else alive; on another host only their old lease can tell.

A ``paused`` execution is never marked: whether its owner lives or not, it stays
paused, and once the owner is gone another engine may resume it
(:func:`ensure_paused_claimable`). A resume takes an execution over with
:func:`claim_execution`, conditional on what it read, so two processes resuming the
same execution at once never both run it.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
import weakref
from typing import Any, NamedTuple

import orjson

from app.errors import ExecutionCancelledError, ResumeError, StoreError
from app.states import ExecutionStatus, NodeStatus
from main_process.store import Store
from main_process.store.chunks import (
    EventRow,
    NodeRow,
    decode_chunk,
    encode_chunk,
    encode_nodes,
)
from main_process.store.ops import CHUNK_SQL, NODES_SQL, RUN_SQL
from main_process.store.owner_lock import lock_held

log = logging.getLogger(__name__)


class OwnerRow(NamedTuple):
    """Who runs an unfinished execution: its owner and the lock that owner holds."""

    id: str
    owner_id: str | None
    owner_pid: int | None
    owner_host: str | None
    lease_until: float | None
    owner_lock: str | None


#: The columns of :class:`OwnerRow`, for any query that builds one.
OWNER_COLUMNS = "id, owner_id, owner_pid, owner_host, lease_until, owner_lock"

#: Engine owner ids alive in this process (an engine registers itself here); asked
#: only about rows without a lock file.
LIVE_OWNERS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

HOST = socket.gethostname()

_OPEN = (ExecutionStatus.PENDING.value, ExecutionStatus.RUNNING.value)
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


def owner_alive(store: Store, row: OwnerRow) -> bool:
    """Whether the process that owns this execution row is still alive.

    With a lock file (every row an engine writes): the lock is held. Never a clock,
    never a lease: a live owner whose loop is blocked is alive.
    """
    if row.owner_lock is not None:
        return lock_held(store.root, row.owner_lock)
    if row.owner_host == HOST and row.owner_pid:
        pid = int(row.owner_pid)
        if pid == os.getpid():
            return row.owner_id in LIVE_OWNERS
        return pid_alive(pid)
    return (row.lease_until or 0.0) >= time.time()


def open_executions(store: Store, only: str | None = None) -> list[OwnerRow]:
    """Unfinished executions (or just ``only``, if it is unfinished) with their owners."""
    sql = f"SELECT {OWNER_COLUMNS} FROM executions WHERE status IN (?, ?)"
    params: tuple[Any, ...] = _OPEN
    if only is not None:
        sql += " AND id = ?"
        params = (*_OPEN, only)
    return [OwnerRow(*row) for row in store.query(sql, params)]


def owner_of(store: Store, execution_id: str) -> OwnerRow | None:
    """The execution's recorded owner (None when the execution is unknown)."""
    row = store.query_one(f"SELECT {OWNER_COLUMNS} FROM executions WHERE id = ?", (execution_id,))
    return None if row is None else OwnerRow(*row)


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
        conn.execute(RUN_SQL, (execution_id,))
        conn.execute(CHUNK_SQL, encode_chunk(rows))
        if outcomes:
            conn.execute(NODES_SQL, encode_nodes(execution_id, outcomes))
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


def recover_orphans(
    store: Store, my_owner_id: str, only: str | None = None, *, strict: bool = False
) -> list[str]:
    """Mark every execution whose owner is gone as interrupted; returns their ids.

    Blocking (reads, then one transaction per execution): run it off the event loop.
    On a read-only data dir nothing can be marked: executions show as recorded. A
    mark that fails (the disk still full) is left for a later start or question, so
    that reading the history never depends on being able to write; only a resume
    (``strict``), which must not run an execution it could not mark, hears of it.
    """
    if store.read_only:
        return []
    marked = []
    for row in open_executions(store, only):
        if row.owner_id == my_owner_id or owner_alive(store, row):
            continue
        try:
            done = mark_interrupted(store, row.id, row.owner_id)
        except StoreError as exc:
            if strict:
                raise
            log.warning("cannot mark execution %s interrupted yet: %s", row.id, exc)
            continue
        if done:
            marked.append(row.id)
    return marked


def ensure_paused_claimable(store: Store, execution_id: str, my_owner_id: str) -> None:
    """Raise ResumeError unless the paused execution's owner is gone (or is us), so a
    resume here does not run it twice beside its live owner."""
    row = store.query_one(
        f"SELECT {OWNER_COLUMNS} FROM executions WHERE id = ? AND status = ?",
        (execution_id, ExecutionStatus.PAUSED.value),
    )
    if row is None:
        return
    owner = OwnerRow(*row)
    if owner.owner_id == my_owner_id or not owner_alive(store, owner):
        return
    raise ResumeError(
        f"execution {execution_id!r} is paused by another live process; resume it there",
        where="execution_id",
    )


def claim_execution(
    store: Store,
    seen: OwnerRow,
    seen_status: ExecutionStatus,
    owner: dict[str, Any],
) -> None:
    """Take an execution over for a resume: record ``owner`` (owner_id, owner_pid,
    owner_host, owner_lock) and ``pending``, in one update conditional on the status
    and owner being those the resume read (``seen``, ``seen_status``).

    Another process that resumes it at the same time, or later, then finds it
    ``pending`` under a live owner and is refused; one that read it before this
    update fails here. Raises ResumeError when the condition does not hold.
    """
    fields = {**owner, "status": ExecutionStatus.PENDING.value}

    def work(conn: sqlite3.Connection) -> int:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        cursor = conn.execute(
            f"UPDATE executions SET {assignments}, error_json = NULL, outputs_json = NULL,"
            " finished_at = NULL WHERE id = ? AND status = ? AND owner_id IS ?",
            (*fields.values(), seen.id, seen_status.value, seen.owner_id),
        )
        return int(cursor.rowcount)

    if store.transaction(work) != 1:
        raise ResumeError(
            f"execution {seen.id!r} was taken over by another process meanwhile",
            where="execution_id",
        )
