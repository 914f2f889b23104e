"""Triggers' runtime state, fires and held fires in the store.

One row per trigger id in ``trigger_state`` (created ``enabled`` when the trigger is
first seen), one row per fire in ``trigger_fires``, and the fires a suspended
trigger kept in ``held_fires``. ``last_scheduled_at`` is the anchor a schedule's
missed fires are counted from after a restart: the scheduled time of its newest
fire, whatever became of it; ``since`` is when the trigger was first seen or last
enabled (fires before it were never owed).

Every function blocks: callers on the event loop run them through
``asyncio.to_thread``. Writes are immediate transactions, so the process firing a
trigger and a CLI changing its state see each other's writes at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, NamedTuple

import orjson

from app.triggers import FireInfo, FireOutcome, HeldFire, TriggerState
from main_process.store.sqlite_store import Store

_STATE_COLUMNS = (
    "id, state, since, last_scheduled_at, last_fire_at, last_execution_id, last_outcome,"
    " next_fire_at"
)


class StateRow(NamedTuple):
    id: str
    state: TriggerState
    since: float
    last_scheduled_at: float | None
    last_fire_at: float | None
    last_execution_id: str | None
    last_outcome: FireOutcome | None
    next_fire_at: float | None


def _state_row(row: Any) -> StateRow:
    return StateRow(
        row[0],
        TriggerState(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        None if row[6] is None else FireOutcome(row[6]),
        row[7],
    )


def ensure_states(store: Store, ids: Iterable[str], now: float) -> dict[str, StateRow]:
    """The state of each id, creating the missing ones ``enabled`` since ``now``."""
    wanted = list(dict.fromkeys(ids))
    found = read_states(store, wanted)
    missing = [i for i in wanted if i not in found]
    if missing and not store.read_only:

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO trigger_state (id, state, since, updated_at)"
                " VALUES (?, ?, ?, ?)",
                [(i, TriggerState.ENABLED.value, now, now) for i in missing],
            )

        store.transaction(work)
        found.update(read_states(store, missing))
    return found


def read_states(store: Store, ids: Iterable[str] | None = None) -> dict[str, StateRow]:
    """The recorded states (of ``ids``, or all)."""
    if ids is None:
        rows = store.query(f"SELECT {_STATE_COLUMNS} FROM trigger_state")
    else:
        wanted = list(ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = store.query(
            f"SELECT {_STATE_COLUMNS} FROM trigger_state WHERE id IN ({marks})", wanted
        )
    return {row[0]: _state_row(row) for row in rows}


def set_state(store: Store, trigger_id: str, state: TriggerState, now: float) -> StateRow:
    """Change a trigger's state. Leaving ``disabled`` moves ``since`` to now: fires that
    fell while it was disabled were never owed, so no catch-up runs them."""

    def work(conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT state FROM trigger_state WHERE id = ?", (trigger_id,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO trigger_state (id, state, since, updated_at) VALUES (?, ?, ?, ?)",
                (trigger_id, state.value, now, now),
            )
            return
        was = TriggerState(row[0])
        if was is TriggerState.DISABLED and state is not TriggerState.DISABLED:
            conn.execute(
                "UPDATE trigger_state SET state = ?, since = ?, last_scheduled_at = NULL,"
                " updated_at = ? WHERE id = ?",
                (state.value, now, now, trigger_id),
            )
        else:
            conn.execute(
                "UPDATE trigger_state SET state = ?, updated_at = ? WHERE id = ?",
                (state.value, now, trigger_id),
            )

    store.transaction(work)
    return read_states(store, [trigger_id])[trigger_id]


def record_fire(store: Store, fire: FireInfo) -> None:
    """Add a fire and make it the trigger's last (its scheduled time the new anchor)."""

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO trigger_fires (trigger_id, scheduled_at, fired_at, execution_id,"
            " outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (
                fire.trigger_id,
                fire.scheduled_at,
                fire.fired_at,
                fire.execution_id,
                fire.outcome.value,
                fire.detail,
            ),
        )
        conn.execute(
            "INSERT OR IGNORE INTO trigger_state (id, state, since, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (fire.trigger_id, TriggerState.ENABLED.value, fire.fired_at, fire.fired_at),
        )
        conn.execute(
            "UPDATE trigger_state SET last_fire_at = ?, last_outcome = ?,"
            " last_execution_id = COALESCE(?, last_execution_id),"
            " last_scheduled_at = MAX(COALESCE(last_scheduled_at, 0), COALESCE(?, 0)),"
            " updated_at = ? WHERE id = ?",
            (
                fire.fired_at,
                fire.outcome.value,
                fire.execution_id,
                fire.scheduled_at,
                fire.fired_at,
                fire.trigger_id,
            ),
        )

    store.transaction(work)


def started_for(store: Store, trigger_id: str, scheduled_at: float) -> str | None:
    """The execution a fire of ``trigger_id`` scheduled at ``scheduled_at`` already
    started, if any: a process killed after starting it but before recording the
    fire leaves one (its config names the trigger and the time). Only executions
    created from a minute before that time on are read (``executions_created``)."""
    row = store.query_one(
        "SELECT id FROM executions WHERE created_at >= ?"
        " AND json_extract(CAST(config_json AS TEXT), '$.triggered_by') = ?"
        " AND json_extract(CAST(config_json AS TEXT), '$.trigger.scheduled_at') = ?"
        " LIMIT 1",
        (scheduled_at - 60.0, trigger_id, scheduled_at),
    )
    return None if row is None else str(row["id"])


def set_next_fire(store: Store, trigger_id: str, moment: float | None) -> None:
    def work(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE trigger_state SET next_fire_at = ? WHERE id = ?", (moment, trigger_id))

    store.transaction(work)


def fires(store: Store, trigger_id: str | None = None, limit: int = 100) -> list[FireInfo]:
    """Recorded fires, oldest first (the newest ``limit``)."""
    where, params = ("WHERE trigger_id = ?", [trigger_id]) if trigger_id else ("", [])
    rows = store.query(
        "SELECT trigger_id, scheduled_at, fired_at, execution_id, outcome, detail"
        f" FROM trigger_fires {where} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [
        FireInfo(
            trigger_id=r[0],
            scheduled_at=r[1],
            fired_at=r[2],
            execution_id=r[3],
            outcome=FireOutcome(r[4]),
            detail=r[5],
        )
        for r in reversed(rows)
    ]


def hold_fire(
    store: Store,
    trigger_id: str,
    scheduled_at: float | None,
    held_at: float,
    context: dict[str, Any],
    inputs: dict[str, Any],
) -> int:
    """Keep a suspended trigger's fire; its id."""

    def work(conn: sqlite3.Connection) -> int:
        cur = conn.execute(
            "INSERT INTO held_fires (trigger_id, scheduled_at, held_at, context_json,"
            " inputs_json) VALUES (?, ?, ?, ?, ?)",
            (trigger_id, scheduled_at, held_at, orjson.dumps(context), orjson.dumps(inputs)),
        )
        return int(cur.lastrowid or 0)

    held: int = store.transaction(work)
    return held


def _held(row: Any) -> HeldFire:
    return HeldFire(
        id=row[0],
        trigger_id=row[1],
        scheduled_at=row[2],
        held_at=row[3],
        context=orjson.loads(row[4]),
        inputs=orjson.loads(row[5]),
    )


_HELD_COLUMNS = "id, trigger_id, scheduled_at, held_at, context_json, inputs_json"


def held_fires(store: Store, trigger_id: str | None = None) -> list[HeldFire]:
    where, params = ("WHERE trigger_id = ?", [trigger_id]) if trigger_id else ("", [])
    rows = store.query(f"SELECT {_HELD_COLUMNS} FROM held_fires {where} ORDER BY id", params)
    return [_held(r) for r in rows]


def execution_statuses(store: Store, execution_ids: Iterable[str]) -> dict[str, str]:
    """The recorded status of each of these executions (unknown ones left out)."""
    wanted = sorted(set(execution_ids))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    rows = store.query(f"SELECT id, status FROM executions WHERE id IN ({marks})", wanted)
    return {str(r[0]): str(r[1]) for r in rows}


def held_counts(store: Store) -> dict[str, int]:
    rows = store.query("SELECT trigger_id, COUNT(*) FROM held_fires GROUP BY trigger_id")
    return {r[0]: int(r[1]) for r in rows}


def take_held_fire(store: Store, held_id: int) -> HeldFire | None:
    """Remove and return a held fire (None when another caller took it first)."""

    def work(conn: sqlite3.Connection) -> HeldFire | None:
        row = conn.execute(
            f"SELECT {_HELD_COLUMNS} FROM held_fires WHERE id = ?", (held_id,)
        ).fetchone()
        if row is None:
            return None
        conn.execute("DELETE FROM held_fires WHERE id = ?", (held_id,))
        return _held(row)

    taken: HeldFire | None = store.transaction(work)
    return taken
