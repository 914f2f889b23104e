"""One page of an execution's recorded event log: what time travel reads.

The GUI's scrubber replays any past moment of a run from its recorded events. It
reads them by page through the ``event_page`` operation, on every transport alike,
never by following the live stream: a 100,000-event run is indexed page by page
in the background and a position is shown from the nearest snapshot plus one page.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.errors import ConfigError
from app.events import Event

#: The most events one page may hold.
MAX_EVENT_PAGE = 10_000
#: The largest event number a request may name (as for ``events?after=``): far past any
#: real one, with room below SQLite's INTEGER.
MAX_EVENT_SEQ = 2**62


def check_event_page(after_seq: int, limit: int) -> None:
    """ConfigError naming the field when an event page request is out of bounds."""
    if isinstance(after_seq, bool) or not isinstance(after_seq, int):
        raise ConfigError(f"after_seq must be an integer, not {after_seq!r}", where="after_seq")
    if not 0 <= after_seq <= MAX_EVENT_SEQ:
        raise ConfigError(f"after_seq must be from 0 to 2**62, not {after_seq}", where="after_seq")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_EVENT_PAGE:
        raise ConfigError(
            f"limit must be an integer from 1 to {MAX_EVENT_PAGE:,}, not {limit!r}", where="limit"
        )


class EventPage(BaseModel):
    """Recorded events after ``after_seq``, in order and gap-free (at most ``limit``)."""

    #: Not on the start path of a run: built on first use.
    model_config = ConfigDict(defer_build=True)

    execution_id: str
    after_seq: int
    events: list[Event] = Field(default_factory=list)
    #: True when the page is full: more events are recorded after it now.
    more: bool = False
    #: True while the execution is active in the engine that answered (more will come).
    live: bool = False

    @property
    def last_seq(self) -> int:
        """The seq of the page's last event (``after_seq`` when it is empty)."""
        return self.events[-1].seq if self.events else self.after_seq
