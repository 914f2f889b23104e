"""Control requests between processes that share a data dir.

Only the process that owns an execution can pause, cancel or resume it in place
(its tasks live there). Any other process records the request here; the owner
takes the requests for its executions a few times a second while it has active
ones (:class:`~main_process.engine.control_watch.ControlWatcher`) and acts on
them as if they had been asked of it directly. A request nobody takes within
:data:`REQUEST_TTL_SECONDS` (its execution finished, or its owner died) is dropped.

Both functions block: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import sqlite3
import time
from enum import StrEnum
from typing import NamedTuple

from main_process.store.recovery import OWNER_COLUMNS, OwnerRow
from main_process.store.sqlite_store import Store

#: Requests older than this are dropped unanswered.
REQUEST_TTL_SECONDS = 60.0


class ControlAction(StrEnum):
    """What a request asks of the owning process."""

    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"


class ControlRequest(NamedTuple):
    id: int
    execution_id: str
    action: ControlAction
    requested_at: float
    requested_by: str | None


class ControlTarget(NamedTuple):
    """An execution's recorded status and owner, for deciding whom to ask."""

    status: str
    owner: OwnerRow


def control_target(store: Store, execution_id: str) -> ControlTarget | None:
    row = store.query_one(
        f"SELECT status, {OWNER_COLUMNS} FROM executions WHERE id = ?",
        (execution_id,),
    )
    return None if row is None else ControlTarget(row[0], OwnerRow(*tuple(row)[1:]))


def request_control(
    store: Store, execution_id: str, action: ControlAction, requested_by: str | None
) -> None:
    """Record a request for the owner of ``execution_id`` (committed on return)."""

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO control_requests (execution_id, action, requested_at, requested_by)"
            " VALUES (?, ?, ?, ?)",
            (execution_id, action.value, time.time(), requested_by),
        )

    store.transaction(work)


def take_control_requests(store: Store, owner_id: str) -> list[ControlRequest]:
    """Remove and return, oldest first, the requests for executions ``owner_id`` runs
    (and drop expired ones)."""

    def work(conn: sqlite3.Connection) -> list[ControlRequest]:
        rows = conn.execute(
            "SELECT r.id, r.execution_id, r.action, r.requested_at, r.requested_by"
            " FROM control_requests r JOIN executions e ON e.id = r.execution_id"
            " WHERE e.owner_id = ? ORDER BY r.id",
            (owner_id,),
        ).fetchall()
        taken = [ControlRequest(r[0], r[1], ControlAction(r[2]), r[3], r[4]) for r in rows]
        if taken:
            conn.executemany("DELETE FROM control_requests WHERE id = ?", [(r.id,) for r in taken])
        conn.execute(
            "DELETE FROM control_requests WHERE requested_at < ?",
            (time.time() - REQUEST_TTL_SECONDS,),
        )
        return taken

    if not _pending(store):
        return []
    result: list[ControlRequest] = store.transaction(work)
    return result


def _pending(store: Store) -> bool:
    """A cheap read first, so an owner with nothing asked of it takes no write lock."""
    return store.query_one("SELECT 1 FROM control_requests LIMIT 1") is not None
