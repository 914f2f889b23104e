"""Per-blueprint execution slots, shared by every process on one data dir.

A blueprint may say ``concurrency: {limit, on_limit}``. Its executions hold a row
here while they run (``held``) or wait for one (``waiting``, in arrival order), and
every decision is one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock is the
cross-process lock, so two processes can never both take the last slot. A row whose
owner process died is removed by the next decision, judged by the owner's lock file
(:mod:`main_process.store.owner_lock`), never by a clock; a live owner removes its
rows itself when its executions end.

Every function blocks: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import sqlite3
import time
from enum import StrEnum
from typing import NamedTuple

from app.automation_spec import OnLimit
from main_process.store.owner_lock import lock_held
from main_process.store.recovery import LIVE_OWNERS
from main_process.store.sqlite_store import Store


class SlotState(StrEnum):
    """A slot row: holding one of the blueprint's slots, or waiting in line for one."""

    HELD = "held"
    WAITING = "waiting"


class Owner(NamedTuple):
    """The engine a row belongs to and the lock file that tells it is alive."""

    owner_id: str
    owner_lock: str | None


class Entry(NamedTuple):
    """What :func:`enter` decided."""

    #: None: refused (``skip`` at the limit); nothing was recorded.
    state: SlotState | None
    #: The executions whose slots were taken over (``cancel_oldest``): cancel them.
    evicted: tuple[str, ...] = ()
    held: int = 0


class _Row(NamedTuple):
    seq: int
    execution_id: str
    state: str
    owner_id: str
    owner_lock: str | None


def _alive(store: Store, me: str, row: _Row, seen: dict[str, bool]) -> bool:
    if row.owner_id == me:
        return True
    known = seen.get(row.owner_id)
    if known is None:
        if row.owner_lock is None:
            known = row.owner_id in LIVE_OWNERS  # no lock file: only this process can tell
        else:
            known = lock_held(store.root, row.owner_lock)
        seen[row.owner_id] = known
    return known


def _live_rows(store: Store, conn: sqlite3.Connection, blueprint_id: str, me: str) -> list[_Row]:
    """The blueprint's rows, oldest first, after removing those of dead owners."""
    rows = [
        _Row(*r)
        for r in conn.execute(
            "SELECT seq, execution_id, state, owner_id, owner_lock FROM blueprint_slots"
            " WHERE blueprint_id = ? ORDER BY seq",
            (blueprint_id,),
        ).fetchall()
    ]
    seen: dict[str, bool] = {}
    dead = [row for row in rows if not _alive(store, me, row, seen)]
    if dead:
        conn.executemany("DELETE FROM blueprint_slots WHERE seq = ?", [(r.seq,) for r in dead])
    return [row for row in rows if row not in dead]


def enter(
    store: Store,
    blueprint_id: str,
    execution_id: str,
    owner: Owner,
    limit: int,
    on_limit: OnLimit,
) -> Entry:
    """Take a slot for ``execution_id``, or line up for one, or refuse, per ``on_limit``.

    A free slot goes to the first in line: a new execution takes one at once only
    when nobody waits. ``cancel_oldest`` takes over the oldest held slot (the caller
    cancels that execution); ``skip`` records nothing when the blueprint is full.
    """

    def work(conn: sqlite3.Connection) -> Entry:
        rows = _live_rows(store, conn, blueprint_id, owner.owner_id)
        mine = [row for row in rows if row.execution_id == execution_id]
        if mine:  # entered before (a resume of a queued execution): as it was
            return Entry(SlotState(mine[0].state))
        held = [row for row in rows if row.state == SlotState.HELD]
        waiting = len(rows) - len(held)
        evicted: tuple[str, ...] = ()
        if len(held) < limit and not waiting:
            state = SlotState.HELD
        elif on_limit is OnLimit.SKIP:
            return Entry(None, held=len(held))
        elif on_limit is OnLimit.CANCEL_OLDEST and held:
            over = held[: len(held) - limit + 1]
            conn.executemany("DELETE FROM blueprint_slots WHERE seq = ?", [(r.seq,) for r in over])
            evicted = tuple(r.execution_id for r in over)
            state = SlotState.HELD
        else:
            state = SlotState.WAITING
        conn.execute(
            "INSERT INTO blueprint_slots"
            " (execution_id, blueprint_id, state, owner_id, owner_lock, since)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (execution_id, blueprint_id, state.value, *owner, time.time()),
        )
        return Entry(state, evicted, len(held))

    result: Entry = store.transaction(work)
    return result


def try_take(store: Store, blueprint_id: str, execution_id: str, owner_id: str, limit: int) -> bool:
    """Whether ``execution_id``'s waiting row now holds a slot (taken when it is among
    the first in line for the free ones). True when it holds one already, or has no
    row any more (nothing left to wait for)."""

    def work(conn: sqlite3.Connection) -> bool:
        rows = _live_rows(store, conn, blueprint_id, owner_id)
        held = sum(1 for row in rows if row.state == SlotState.HELD)
        line = [row for row in rows if row.state == SlotState.WAITING]
        for position, row in enumerate(line):
            if row.execution_id == execution_id:
                if position < limit - held:
                    conn.execute(
                        "UPDATE blueprint_slots SET state = ?, since = ? WHERE seq = ?",
                        (SlotState.HELD.value, time.time(), row.seq),
                    )
                    return True
                return False
        return True

    result: bool = store.transaction(work)
    return result


def leave(store: Store, execution_id: str) -> None:
    """Give up ``execution_id``'s slot or place in line (nothing when it has none)."""
    store.transaction(
        lambda conn: conn.execute(
            "DELETE FROM blueprint_slots WHERE execution_id = ?", (execution_id,)
        )
    )


def slot_count(store: Store, blueprint_id: str) -> tuple[int, int]:
    """``(held, waiting)`` rows of a blueprint, as recorded (dead owners' included)."""
    rows = store.query(
        "SELECT state, COUNT(*) FROM blueprint_slots WHERE blueprint_id = ? GROUP BY state",
        (blueprint_id,),
    )
    counts = {row[0]: row[1] for row in rows}
    return counts.get(SlotState.HELD.value, 0), counts.get(SlotState.WAITING.value, 0)
