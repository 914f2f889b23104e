"""Following an execution's events: replay what is recorded, then go live.

A consumer may be slow (a GUI busy painting, an SSE client on a bad link). The
executor must never wait for it, and memory must not grow without bound, so each
follower has a bounded buffer. When it overflows, the follower drops what it
buffered and catches up from the record (the active run's in-memory log, or the
store) page by page — it sees every event exactly once, in order, gap-free,
just later. Nothing is lost because the log, not the buffer, is the truth.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from app.events import Event
from main_process.engine.state_manager import StateManager

#: Events a follower may have waiting before it switches to catching up.
EVENT_BUFFER = 4096
#: Events read from the record at a time.
PAGE = 1000

Recorded = Callable[[str, int, int | None], Awaitable[list[Event]]]


async def follow(
    states: StateManager, recorded: Recorded, execution_id: str, after_seq: int
) -> AsyncIterator[Event]:
    """Every event after ``after_seq``; ends after the terminal one (or, for a run
    that is not active here, after the last one recorded)."""
    buffer: deque[Event] = deque()
    wake = asyncio.Event()
    overflowed = False

    def on_event(event: Event) -> None:
        nonlocal overflowed
        if len(buffer) >= EVENT_BUFFER:
            overflowed = True
        else:
            buffer.append(event)
        wake.set()

    active = states.listen(execution_id, on_event)
    last = after_seq
    try:
        # The backlog of an active run may hold an old terminal event (a resumed
        # execution's "interrupted"): only the live one ends the stream.
        while True:
            page = await recorded(execution_id, last, PAGE)
            for event in page:
                yield event
                last = event.seq
            if len(page) < PAGE:
                break
        if not active:
            return
        while True:
            if overflowed:
                overflowed = False
                buffer.clear()
                # Catch up from the record. A replayed terminal event may be an old
                # one (a resumed run's "interrupted"), so the stream ends only when
                # the run is no longer active here and the record is read to its end
                # after that (the run's last events are recorded before it leaves).
                finished = False
                while True:
                    page = await recorded(execution_id, last, PAGE)
                    for event in page:
                        yield event
                        last = event.seq
                    if len(page) < PAGE:
                        if finished:
                            return
                        if states.get_active(execution_id) is not None:
                            break
                        finished = True
                continue
            if not buffer:
                wake.clear()
                await wake.wait()
                continue
            event = buffer.popleft()
            if event.seq > last:
                yield event
                last = event.seq
            # Only the run's final event reaches a listener as terminal, so it ends the
            # stream even when the backlog, read after the run ended, yielded it already.
            if event.is_terminal:
                return
    finally:
        states.unlisten(execution_id, on_event)
