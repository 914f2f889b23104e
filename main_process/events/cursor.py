"""The one way to read an execution's events: a pull-based cursor.

``EventCursor(execution_id, after_seq)`` hands out pages of recorded events, in
order and gap-free, and waits for more while the execution is active in this
engine. Every transport's ``events()`` is a thin adapter over it: in-process
followers (:mod:`main_process.events.follow`), the pipe's event stream
(:mod:`main_process.events.pipe_stream`) and the SSE route
(:mod:`main_process.http.events`).

Why pull: the record (the active execution's in-memory log, else the store) is
the truth, and events carry a gap-free ``seq``, so a consumer needs no buffer of
its own. A slow consumer simply pulls later and reads what happened meanwhile
from the record; the executor never waits for anyone, and memory per consumer is
one page.

Where a page comes from: while the execution is active here and the wanted seqs
are still in its in-memory window, a slice of that list (no I/O, on the loop);
otherwise the store, read in a thread (committed events are dropped from memory
only once the store has them, so the two never leave a gap).

When it ends: once the execution is no longer active here and the record is
read to its end. Not at the first terminal event: a resumed execution's record
holds an earlier one (``interrupted``) before the events of its resumed run. An
execution running in another process cannot be followed from here: its cursor
ends after what that process has committed so far.

Waiting: the cursor registers on the execution's watchers (the per-execution
wake-up that :class:`~main_process.events.log.EventLog` calls on each delivered
event and on the release of the terminal one) only while it waits.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from main_process.store import Store, history
from main_process.store.chunks import EventRow

if TYPE_CHECKING:
    from main_process.engine.state_manager import StateManager

#: Events a page holds unless the caller asks for another size.
PAGE = 1000
#: Store reads of pages in flight at once, over all cursors of a loop. A crowd of
#: readers behind the in-memory window (200 SSE clients of a finished run) would
#: otherwise have a page each decoded in threads and waiting for the loop at once.
STORE_READS = 4
_store_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _store_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _store_reads.get(loop)
    if gate is None:
        gate = _store_reads[loop] = asyncio.Semaphore(STORE_READS)
    return gate


class EventCursor:
    """One reader's place in one execution's events (see the module docs)."""

    def __init__(
        self, states: StateManager, store: Store | None, execution_id: str, after_seq: int
    ) -> None:
        self._states = states
        self._store = store
        self.execution_id = execution_id
        #: The seq of the last event handed out.
        self.last_seq = after_seq

    async def read(self, limit: int | None = PAGE) -> list[EventRow]:
        """The events recorded after :attr:`last_seq` (at most ``limit``), without
        waiting for more; the cursor moves past them."""
        rows = self._from_memory(limit)
        if rows is None:
            store = self._store
            if store is None:  # an in-memory engine: what left memory is gone
                return []
            async with _store_gate():
                rows = await asyncio.to_thread(
                    history.event_rows, store, self.execution_id, self.last_seq, limit
                )
        if rows:
            self.last_seq = rows[-1].seq
        return rows

    def _from_memory(self, limit: int | None) -> list[EventRow] | None:
        """A slice of the active execution's in-memory log; None when the wanted
        events are not there (not active here, or older than its window)."""
        state = self._states.get_active(self.execution_id)
        if state is None:
            return None
        rows = state.events
        first = rows[0].seq if rows else state.seq + 1
        if self.last_seq + 1 < first:
            return None
        start = self.last_seq + 1 - first
        return rows[start:] if limit is None else rows[start : start + limit]

    async def next_page(self, limit: int = PAGE, *, linger: float = 0.0) -> list[EventRow] | None:
        """The next events (at most ``limit``), waiting while the execution is active
        here and has nothing new; None once there is nothing more to come.

        ``linger``: after a wait, let this many seconds of events gather before
        reading, so that a burst goes out as one page (the pipe's batching).
        Cancelling a call loses nothing: the cursor moves only when a page is returned.
        """
        wake = asyncio.Event()
        stop = self._states.watch(self.execution_id, wake.set)
        try:
            while True:
                wake.clear()
                page = await self.read(limit)
                if page:
                    return page
                if self._states.get_active(self.execution_id) is None:
                    # Released: what it delivered before leaving is in the store now.
                    return await self.read(limit) or None
                await wake.wait()
                if linger:
                    await asyncio.sleep(linger)
        finally:
            stop()
