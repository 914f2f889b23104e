"""The store's side of error handlers: which failed executions still owe their
handler's start, taking one over, and linking a handler to what it handles.

A failed execution's row names the handler execution it owes
(``error_handler_execution``), written in the same statement as the failure. The
handler's own row, with that id, is the proof it started. So a handler is owed
exactly when the first exists and the second does not; a live owner starts it
itself, and a row whose owner is gone is taken over (a conditional update, as a
resume takes an execution over) by exactly one process, which starts it.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from app.states import ExecutionStatus
from main_process.store import Store
from main_process.store.recovery import OWNER_COLUMNS, OwnerRow, owner_alive


class OwedHandler(NamedTuple):
    """A failed execution whose handler execution has no row yet."""

    owner: OwnerRow
    handler_id: str


def owed_handlers(store: Store, my_owner_id: str, only: str | None = None) -> list[OwedHandler]:
    """Failed executions owing a handler start whose owner is gone (not this engine,
    not a live process): theirs to take over. Blocking: run it off the loop."""
    sql = (
        f"SELECT {', '.join('e.' + c.strip() for c in OWNER_COLUMNS.split(','))},"
        " e.error_handler_execution FROM executions e"
        " WHERE e.error_handler_execution IS NOT NULL AND e.status = ?"
        " AND NOT EXISTS (SELECT 1 FROM executions h WHERE h.id = e.error_handler_execution)"
    )
    params: tuple[Any, ...] = (ExecutionStatus.FAILED.value,)
    if only is not None:
        sql += " AND e.id = ?"
        params = (*params, only)
    owed = []
    for row in store.query(sql, params):
        owner = OwnerRow(*tuple(row)[:6])
        if owner.owner_id == my_owner_id or owner_alive(store, owner):
            continue
        owed.append(OwedHandler(owner, str(row["error_handler_execution"])))
    return owed


def claim_owed(store: Store, owed: OwedHandler, owner: dict[str, Any]) -> bool:
    """Make this engine the failed execution's owner, if it still owes its handler and
    its owner is still the one read: True for exactly one of several claimers."""

    def work(conn: sqlite3.Connection) -> int:
        assignments = ", ".join(f"{name} = ?" for name in owner)
        cursor = conn.execute(
            f"UPDATE executions SET {assignments} WHERE id = ? AND owner_id IS ?"
            " AND NOT EXISTS (SELECT 1 FROM executions h WHERE h.id = ?)",
            (*owner.values(), owed.owner.id, owed.owner.owner_id, owed.handler_id),
        )
        return int(cursor.rowcount)

    return bool(store.transaction(work) == 1)


def execution_exists(store: Store, execution_id: str) -> bool:
    return store.query_one("SELECT 1 FROM executions WHERE id = ?", (execution_id,)) is not None
