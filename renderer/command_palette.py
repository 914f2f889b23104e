"""The command palette (Ctrl+K): type a few letters of a command, press Enter.

Entries are plain data — a title, a detail line and a callable — so the window
decides what is offered (actions, blueprints, recent executions) and the palette
only filters and runs. Matching is "fuzzy-ish", as in editors users know: every
typed character must appear in the title in order, case-insensitively; contiguous
and early matches rank first. A title that does not match may still match through
its detail, ranked after every title match.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: A rank: lower is better; compared as tuples.
Score = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One command: what the list shows and what Enter runs."""

    title: str
    detail: str
    action: Callable[[], None]


def match_score(query: str, text: str) -> tuple[int, int, int] | None:
    """How well ``text`` matches ``query`` (lower is better), or None when it does not.

    A substring beats a scattered match; then fewer gaps between matched letters,
    then an earlier first letter.
    """
    needle, hay = query.casefold(), text.casefold()
    if not needle:
        return (0, 0, 0)
    at = hay.find(needle)
    if at >= 0:
        return (0, 0, at)
    positions: list[int] = []
    start = 0
    for char in needle:
        found = hay.find(char, start)
        if found < 0:
            return None
        positions.append(found)
        start = found + 1
    gaps = sum(b - a - 1 for a, b in itertools.pairwise(positions))
    return (1, gaps, positions[0])


def rank(query: str, entries: list[PaletteEntry]) -> list[PaletteEntry]:
    """The entries that match ``query``, best first (ties keep the given order)."""
    scored: list[tuple[Score, PaletteEntry]] = []
    for order, entry in enumerate(entries):
        title = match_score(query, entry.title)
        if title is not None:
            scored.append(((0, *title[:2], title[2] * 1000 + order), entry))
            continue
        detail = match_score(query, entry.detail)
        if detail is not None:
            scored.append(((1, *detail[:2], detail[2] * 1000 + order), entry))
    scored.sort(key=lambda pair: pair[0])
    return [entry for _score, entry in scored]


class CommandPalette(QDialog):
    """A filter line over a list of :class:`PaletteEntry`; Enter runs, Escape closes."""

    #: The entry with this title was run (after the palette closed).
    entry_triggered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Command palette")
        self.setModal(True)
        self.resize(560, 360)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Type a command…")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self._entries: list[PaletteEntry] = []
        self._shown: list[PaletteEntry] = []
        self.filter.textChanged.connect(self._refilter)
        self.filter.returnPressed.connect(self.run_current)
        self.filter.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self.run_current())

    def set_entries(self, entries: list[PaletteEntry]) -> None:
        """Replace what the palette offers (kept filtered by the current text)."""
        self._entries = list(entries)
        self._refilter()

    def visible_entries(self) -> list[PaletteEntry]:
        """The entries shown, in order: what the filter matched, best first."""
        return list(self._shown)

    def current_entry(self) -> PaletteEntry | None:
        row = self.list.currentRow()
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def open_palette(self) -> None:
        """Show the palette with an empty filter, centred over its parent, focused."""
        self.filter.clear()
        self._refilter()
        parent = self.parentWidget()
        if parent is not None:
            centre = parent.mapToGlobal(parent.rect().center())
            self.move(centre.x() - self.width() // 2, centre.y() - self.height() // 2)
        self.show()
        self.raise_()
        self.activateWindow()
        self.filter.setFocus()

    def run_current(self) -> None:
        """Close, then run the highlighted entry (its action may open other windows)."""
        entry = self.current_entry()
        if entry is None:
            return
        self.accept()
        entry.action()
        self.entry_triggered.emit(entry.title)

    def _refilter(self) -> None:
        self._shown = rank(self.filter.text(), self._entries)
        self.list.clear()
        for entry in self._shown:
            text = f"{entry.title}    {entry.detail}" if entry.detail else entry.title
            item = QListWidgetItem(text)
            item.setToolTip(entry.detail)
            self.list.addItem(item)
        if self._shown:
            self.list.setCurrentRow(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up/Down/PageUp/PageDown in the filter line move the highlight in the list."""
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            step = {
                Qt.Key.Key_Up: -1,
                Qt.Key.Key_Down: 1,
                Qt.Key.Key_PageUp: -10,
                Qt.Key.Key_PageDown: 10,
            }.get(Qt.Key(event.key()))
            if step is not None and self._shown:
                row = max(0, min(len(self._shown) - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)
