"""Time travel over a run: a scrubber that replays the canvas and monitor at any event.

What no anchor product has: for any execution, live or past, drag the scrubber (or
step by event, or by node) and the canvas badges, the node table, the timeline and
the log show the run as it stood just after that event; **Live** returns to now.

The log is read in pages through the ``event_page`` operation (never by following the
live stream) and folded into a :class:`~renderer.monitor.replay.Replay` in the
background, so the scrubber is usable over what is indexed while the rest arrives,
and a 100,000-event run never freezes the window. A position is shown from the
nearest snapshot plus one page, fetched once and cached; while the user drags,
only the newest position is shown (older requests are dropped, not queued).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from app.event_page import EventPage
from app.events import Event
from renderer.monitor.monitor_model import ExecutionView
from renderer.monitor.replay import Replay

#: Fetches a page: (execution_id, after_seq, limit) → the page.
Fetch = Callable[[str, int, int], Awaitable[EventPage]]
#: Events read per page while indexing (small: each page is parsed on the GUI loop).
INDEX_PAGE = 1000
#: How often a live execution's log is read again for new events, seconds.
LIVE_POLL = 0.5
#: Snapshot blocks kept in memory (each at most ``Replay.interval`` events).
CACHED_BLOCKS = 16


class TimeTravelBar(QWidget):
    """The scrubber: a slider over the events, steps by event and by node, and Live."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Drag to replay the run at any event")
        self.back_node = self._button("|◀", "Back to the previous node that ended")
        self.back = self._button("◀", "Back one event")
        self.forward = self._button("▶", "Forward one event")
        self.forward_node = self._button("▶|", "Forward to the next node that ends")
        self.live = self._button("Live", "Show the run as it is now")
        self.live.setCheckable(True)
        self.live.setChecked(True)
        self.label = QLabel("Time travel: no execution")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        row = QHBoxLayout()
        for button in (self.back_node, self.back):
            row.addWidget(button)
        row.addWidget(self.slider, 1)
        for button in (self.forward, self.forward_node, self.live):
            row.addWidget(button)
        column.addLayout(row)
        column.addWidget(self.label)
        self.setEnabled(False)

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button


class TimeTravel(QObject):
    """Drives a :class:`TimeTravelBar` for the execution shown (see the module docs)."""

    #: A past position was painted (its seq); -1 when back to live.
    position_shown = Signal(int)

    def __init__(
        self,
        bar: TimeTravelBar,
        fetch: Fetch,
        paint: Callable[[ExecutionView], None],
        go_live: Callable[[], None],
    ) -> None:
        super().__init__(bar)
        self.bar = bar
        self._fetch = fetch
        self._paint = paint
        self._go_live = go_live
        self.replay: Replay | None = None
        #: The position shown (None: live).
        self.position: int | None = None
        self._wanted: int | None = None
        self._shower: asyncio.Task[None] | None = None
        self._indexer: asyncio.Task[None] | None = None
        self._blocks: OrderedDict[int, list[Event]] = OrderedDict()
        self._tasks: list[asyncio.Task[None]]
        #: The furthest event known to exist (indexed, or seen live).
        self._known = 0
        bar.slider.valueChanged.connect(self._slider_moved)
        bar.back.clicked.connect(lambda: self._step(-1, by_node=False))
        bar.forward.clicked.connect(lambda: self._step(1, by_node=False))
        bar.back_node.clicked.connect(lambda: self._step(-1, by_node=True))
        bar.forward_node.clicked.connect(lambda: self._step(1, by_node=True))
        bar.live.clicked.connect(lambda _checked=False: self.back_to_live())
        tasks = self._tasks = []  # cancelled with the bar (the window closed)
        bar.destroyed.connect(lambda *_: [task.cancel() for task in tasks])

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks[:] = [t for t in self._tasks if not t.done()]
        self._tasks.append(task)

    @property
    def active(self) -> bool:
        """True while a past position is shown (live updates must not repaint)."""
        return self.position is not None

    # -- which execution -----------------------------------------------------------

    def attach(
        self,
        execution_id: str,
        blueprint_id: str,
        node_ids: Sequence[str],
        *,
        live_seq: int | None = None,
    ) -> None:
        """Offer time travel over ``execution_id``.

        A finished execution's log is indexed at once, in the background. A live one
        (``live_seq``: the events seen so far) is indexed only once the user touches
        the scrubber or the run ends (:meth:`index_now`): during a flood of events
        the window has better things to do than read them a second time.
        """
        if self.replay is not None and self.replay.execution_id == execution_id:
            return
        self.detach()
        self.replay = Replay(execution_id, blueprint_id, node_ids)
        self.bar.setEnabled(True)
        if live_seq is None:
            self.index_now()
        else:
            self.note_live(live_seq)

    def index_now(self) -> None:
        """Start reading the log into the replay (once)."""
        if self.replay is not None and self._indexer is None:
            self._set_range(self.replay.indexed)
            self._indexer = asyncio.ensure_future(self._index(self.replay))
            self._track(self._indexer)

    def note_live(self, last_seq: int) -> None:
        """A live run reached event ``last_seq``: the scrubber reaches that far."""
        if self.replay is not None and self._indexer is None and self.position is None:
            self._set_range(last_seq, f"Live · {last_seq:,} events so far")

    def detach(self) -> None:
        for task in (self._indexer, self._shower):
            if task is not None:
                task.cancel()
        self._indexer = self._shower = None
        self.replay = None
        self.position = self._wanted = None
        self._known = 0
        self._blocks.clear()
        self.bar.live.setChecked(True)
        self.bar.setEnabled(False)
        self.bar.label.setText("Time travel: no execution")

    async def indexed(self) -> None:
        """Wait until the whole recorded log of a finished execution is indexed."""
        if self._indexer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._indexer)

    async def _index(self, replay: Replay) -> None:
        try:
            while True:
                page = await self._fetch(replay.execution_id, replay.indexed, INDEX_PAGE)
                replay.feed(page.events)
                self._set_range(replay.indexed)
                if page.more:
                    await asyncio.sleep(0)  # let the window breathe between pages
                elif page.live:
                    await asyncio.sleep(LIVE_POLL)
                else:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the worker died or refused: say so, keep what we have
            if shiboken6.isValid(self.bar):
                self.bar.label.setText(f"Time travel stopped reading the log: {exc}")

    def _set_range(self, last: int, label: str | None = None) -> None:
        """The scrubber reaches ``last`` (or further, if a live run was seen further)."""
        self._known = max(self._known, last)
        slider = self.bar.slider
        slider.blockSignals(True)
        slider.setRange(0, self._known)
        if self.position is None:
            slider.setValue(slider.maximum())
        slider.blockSignals(False)
        if self.replay is not None and self.position is None:
            self.bar.label.setText(label or f"Live · {self._known:,} events recorded")

    # -- positions -----------------------------------------------------------------

    def _slider_moved(self, value: int) -> None:
        self.show(value)

    def _step(self, direction: int, *, by_node: bool) -> None:
        if self.replay is None:
            return
        start = self.position if self.position is not None else self.replay.indexed
        self.show(self.replay.step(start, direction, by_node=by_node))

    def show(self, seq: int) -> None:
        """Show the run just after event ``seq`` (the newest request wins)."""
        if self.replay is None:
            return
        self.index_now()
        self._wanted = max(0, seq)
        self.bar.live.setChecked(False)
        if self._shower is None or self._shower.done():
            self._shower = asyncio.ensure_future(self._show_wanted())
            self._track(self._shower)

    async def shown(self) -> None:
        """Wait until the newest requested position is painted."""
        while self._shower is not None and not self._shower.done():
            await asyncio.shield(self._shower)

    async def _show_wanted(self) -> None:
        while self.replay is not None and self._wanted is not None:
            replay = self.replay
            while (
                self._wanted is not None
                and self._wanted > replay.indexed
                and (self._indexer is not None and not self._indexer.done())
            ):
                await asyncio.sleep(0.02)  # that far is not indexed yet: it is coming
            if self._wanted is None or replay is not self.replay:
                return
            seq = self._wanted = replay.clamp(self._wanted)
            try:
                events = await self._block(replay, seq)
            except Exception as exc:
                if shiboken6.isValid(self.bar):
                    self.bar.label.setText(f"Could not read events: {exc}")
                return
            if replay is not self.replay:
                return
            view = replay.state_at(seq, events)
            if self._wanted == seq:
                self._wanted = None
            self.position = seq
            slider = self.bar.slider
            slider.blockSignals(True)
            slider.setValue(seq)
            slider.blockSignals(False)
            self.bar.label.setText(replay.describe(seq))
            self._paint(view)
            self.position_shown.emit(seq)

    async def _block(self, replay: Replay, seq: int) -> list[Event]:
        """The events from ``seq``'s snapshot up to ``seq`` (a cached page when full)."""
        after, count = replay.block_for(seq)
        if count == 0:
            return []
        cached = self._blocks.get(after)
        if cached is not None and cached and cached[-1].seq >= seq:
            self._blocks.move_to_end(after)
            return cached
        wanted = min(replay.interval, replay.indexed - after)
        page = await self._fetch(replay.execution_id, after, max(wanted, count))
        events = list(page.events)
        self._blocks[after] = events
        while len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return events

    def back_to_live(self) -> None:
        """Stop replaying: the canvas and monitor show the run as it is now."""
        if self._shower is not None:
            self._shower.cancel()
        self.position = self._wanted = None
        self.bar.live.setChecked(True)
        if self.replay is not None:
            self._set_range(self.replay.indexed)
        self._go_live()
        self.position_shown.emit(-1)
