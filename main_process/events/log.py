"""Each execution's event log and the subscribers that follow it.

Every transition gets the execution's next ``seq``; the row goes to the store's
writer and, once delivered, to the in-memory log of the active execution and to
its listeners. An execution's terminal event, and each node's completion, is
*held* until the engine has seen the store commit it (:meth:`EventLog.committed`,
:meth:`EventLog.release`), and the events after a held one wait behind it, so
they leave in ``seq`` order: nobody hears "finished" about a node or a run whose
record could still be lost. With no store (an in-memory state manager)
nothing is held, and the log is only the recent window kept in memory.

The engine's recorder (:class:`~main_process.engine.state_manager.StateManager`)
owns one :class:`EventLog` and shares its table of active executions; it is a
part, not a base class. Event models are built only when someone
listens, so a run nobody watches pays for tuples, not models.

Memory: an active execution keeps only its recent events (about
:data:`MEMORY_EVENTS`). Once the store has committed older ones they are dropped
and read back from the store on demand, so a run that logs millions of lines
costs the window, not a copy of its log (~400 bytes an event, measured).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from main_process.engine.execution_state import EventRow, ExecutionState, Subscriber, event_from_row
from main_process.store import Store

log = logging.getLogger(__name__)

#: Events an active execution keeps in memory before committed ones are dropped.
MEMORY_EVENTS = 10_000


class EventLog:
    """Sequencing, delivery and subscriptions for the active executions' events."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        #: The active executions, by id; the recorder that owns this log shares it.
        self.active: dict[str, ExecutionState] = {}
        self._subscribers: list[Subscriber] = []
        #: See :data:`MEMORY_EVENTS`; at least 2.
        self.memory_events = MEMORY_EVENTS

    # -- subscriptions -------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Subscriber:
        """Call ``callback`` with every event of every execution, as it happens."""
        self._subscribers.append(callback)
        return callback

    def unsubscribe(self, callback: Subscriber) -> None:
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def listen(self, execution_id: str, callback: Subscriber) -> bool:
        """Follow one active execution; False when it is not active here."""
        state = self.active.get(execution_id)
        if state is None:
            return False
        state.listeners.append(callback)
        return True

    def unlisten(self, execution_id: str, callback: Subscriber) -> None:
        state = self.active.get(execution_id)
        if state is not None and callback in state.listeners:
            state.listeners.remove(callback)

    def watch(self, execution_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` whenever the active execution has new events; returns a
        function that stops it. For followers that read the log in pages: no event
        model is built for them."""
        state = self.active.get(execution_id)
        if state is None:
            return _nothing
        state.watchers.append(callback)

        def stop() -> None:
            if callback in state.watchers:
                state.watchers.remove(callback)

        return stop

    # -- events --------------------------------------------------------------------

    def emit(
        self,
        state: ExecutionState,
        kind: str,
        node_id: str | None,
        status: str | None,
        attempt: int | None,
        data: dict[str, Any] | None,
        ts: float,
        hold: bool = False,
    ) -> EventRow:
        """Give the next ``seq`` to a transition, record it, and deliver it (or hold it,
        for an event that must be committed first; later ones queue behind it)."""
        state.seq += 1
        row = EventRow(state.execution_id, state.seq, ts, kind, node_id, status, attempt, data)
        store = self.store
        if store is None:
            self.deliver(state, row)
            return row
        store.enqueue_event(row)
        if hold:
            state.holding.add(row[1])
            state.undelivered.append(row)
        elif state.undelivered:
            state.undelivered.append(row)
        else:
            self.deliver(state, row)
        return row

    def committed(self, state: ExecutionState, seq: int) -> None:
        """The store has committed every event up to ``seq``: deliver the held ones
        among them, and what waited behind them."""
        holding = state.holding
        if not holding:
            return
        for held in [s for s in holding if s <= seq]:
            holding.discard(held)
        pending = state.undelivered
        while pending and pending[0][1] not in holding:
            self.deliver(state, pending.popleft())

    def deliver(self, state: ExecutionState, row: EventRow) -> None:
        """Append a recorded event to the active log and tell whoever follows it."""
        state.events.append(row)
        if len(state.events) > self.memory_events:
            self._trim(state)
        for wake in state.watchers:
            wake()
        if not (self._subscribers or state.listeners):
            return
        event = event_from_row(row)
        for callback in (*self._subscribers, *state.listeners):
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")

    def _trim(self, state: ExecutionState) -> None:
        """Drop the oldest in-memory events the store has committed (keeping at least
        half the window), and ask the store to tell when the newer ones are committed.

        Only committed events go: a reader asking for them gets them from the store,
        and :meth:`StateManager.event_rows_after` joins the two without a gap. After a
        failed commit no notice is asked for again; the log then stays in memory.
        """
        events = state.events
        keep = self.memory_events // 2
        if self.store is None:
            del events[: len(events) - keep]  # nothing else holds them: the window is all
            return
        drop = min(state.committed_seq - events[0][1] + 1, len(events) - keep)
        if drop > 0:
            del events[:drop]
        if state.commit_watch:
            return
        state.commit_watch = True
        seq = state.seq  # every event up to here is queued for the store

        def committed(error: BaseException | None) -> None:
            if error is None:
                state.committed_seq = max(state.committed_seq, seq)
                state.commit_watch = False

        self.store.when_committed(committed)

    def deliver_held(self, execution_id: str) -> None:
        """Deliver every held event, once their commit is known (or not needed)."""
        state = self.active.get(execution_id)
        if state is not None and state.undelivered:
            state.holding.clear()
            pending = state.undelivered
            while pending:
                self.deliver(state, pending.popleft())

    def release(self, execution_id: str) -> ExecutionState | None:
        """Deliver the held terminal event and forget the execution (the store has it)."""
        self.deliver_held(execution_id)
        return self.active.pop(execution_id, None)


def _nothing() -> None:
    return None
