"""Following an execution's events in-process (the direct transport's ``events()``).

A thin adapter over :class:`~main_process.events.cursor.EventCursor`: it pulls a
page, turns its rows into :class:`~app.events.Event` models and yields them. A
slow consumer simply pulls later; nothing is buffered for it (see the cursor).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.events import Event
from main_process.engine.execution_state import event_from_row
from main_process.events.cursor import EventCursor

#: Events read from the record at a time.
PAGE = 1000


async def follow(cursor: EventCursor) -> AsyncIterator[Event]:
    """Every event after the cursor's place, until the execution is over."""
    while (page := await cursor.next_page(PAGE)) is not None:
        for row in page:
            yield event_from_row(row)
