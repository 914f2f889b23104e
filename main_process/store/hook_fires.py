"""Webhook requests that started no execution, kept so a user can see why.

A request that started an execution needs no row here: the execution records it
(its config's ``trigger``). One that was skipped at the blueprint's concurrency
limit, refused (bad signature, missing token) or invalid (an input of the wrong
type) leaves only this row: the trigger, when, the HTTP status it got and why.
Never the request itself: its body or headers could hold what the refusal was about.

Both functions block: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import sqlite3
import time
from enum import StrEnum
from typing import NamedTuple

from main_process.store.sqlite_store import Store

#: Rows kept per trigger; older ones are dropped as new ones come.
KEEP_PER_TRIGGER = 1000


class FireOutcome(StrEnum):
    """Why a webhook request started no execution."""

    SKIPPED = "skipped"  # the blueprint was at its concurrency limit (on_limit: skip)
    REFUSED = "refused"  # authentication failed
    INVALID = "invalid"  # the request could not become the blueprint's inputs


class HookFire(NamedTuple):
    trigger_id: str
    received_at: float
    outcome: FireOutcome
    status_code: int
    message: str | None


def record_fire(
    store: Store, trigger_id: str, outcome: FireOutcome, status_code: int, message: str | None
) -> None:
    """Record one request that started nothing (committed on return)."""

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO webhook_fires (trigger_id, received_at, outcome, status_code, message)"
            " VALUES (?, ?, ?, ?, ?)",
            (trigger_id, time.time(), outcome.value, status_code, message),
        )
        conn.execute(
            "DELETE FROM webhook_fires WHERE trigger_id = ? AND id <= ("
            " SELECT id FROM webhook_fires WHERE trigger_id = ? ORDER BY id DESC"
            " LIMIT 1 OFFSET ?)",
            (trigger_id, trigger_id, KEEP_PER_TRIGGER),
        )

    store.transaction(work)


def recent_fires(store: Store, trigger_id: str, limit: int = 50) -> list[HookFire]:
    """The trigger's latest recorded requests, newest first."""
    rows = store.query(
        "SELECT trigger_id, received_at, outcome, status_code, message FROM webhook_fires"
        " WHERE trigger_id = ? ORDER BY id DESC LIMIT ?",
        (trigger_id, limit),
    )
    return [HookFire(r[0], r[1], FireOutcome(r[2]), r[3], r[4]) for r in rows]
