"""The store's write queue is bounded: past ``max_queued_ops`` the caller commits.

Regression: the queue had no bound, and a node logging in a tight loop starves the
writer thread of the GIL, so a run of a million events queued ~770,000 operations
(~600 MB) before the writer got through its first batch. Here the writer never
wakes on its own (a one-hour interval, an unreachable batch size), which is the
starved writer at its worst; the queue must still stay bounded, in order.
"""

from __future__ import annotations

from pathlib import Path

from main_process.store import Store
from main_process.store.chunks import EventRow
from main_process.store.history import event_rows

EVENTS = 5000
LIMIT = 1000


def test_a_writer_that_falls_behind_makes_the_caller_commit(home: Path) -> None:
    store = Store(home, flush_interval=3600.0, batch_size=10**9)
    store.max_queued_ops = LIMIT
    most = 0
    try:
        for seq in range(1, EVENTS + 1):
            row = EventRow("e1", seq, float(seq), "log", None, None, None, {"i": seq})
            store.enqueue_event(row)
            most = max(most, len(store._ops))
        assert most <= LIMIT  # it was EVENTS: nothing was committed until a flush
        committed = event_rows(store, "e1", 0)
        assert [r[1] for r in committed] == list(range(1, len(committed) + 1))
        assert len(committed) >= EVENTS - LIMIT
        store.flush_sync()
        assert [r[1] for r in event_rows(store, "e1", 0)] == list(range(1, EVENTS + 1))
    finally:
        store.close()
