"""Help → Keyboard shortcuts: every action's shortcut, and the canvas gestures.

Generated from the window's actions, so the list cannot drift from what the keys
do; the canvas gestures (which are not actions) are listed beside them.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: What the canvas does without a menu action (key or gesture, what it does).
CANVAS_GESTURES: tuple[tuple[str, str], ...] = (
    ("Tab", "Add a node at the mouse (searchable picker)"),
    ("Double-click empty canvas", "Add a node there"),
    ("Drop a wire on empty canvas", "Add a node connected to that port"),
    ("Right-click", "Menu for the canvas, a node, a connection or a note"),
    ("Right-click empty canvas → Add note", "A sticky note (double-click it to edit)"),
    ("Wheel", "Zoom around the mouse"),
    ("Space+drag, middle drag", "Pan"),
    ("Drag on empty canvas", "Select with a rubber band"),
    ("Delete, Backspace", "Delete the selection"),
    ("Ctrl+C, Ctrl+X, Ctrl+V, Ctrl+A", "Copy, cut, paste, select all nodes"),
)


#: Names Qt gives the dedicated keys of some keyboards (media and office keys).
_DEDICATED_KEYS = frozenset(
    {"New", "Open", "Save", "Undo", "Redo", "Copy", "Paste", "Cut", "Close", "Find", "Help"}
)


def action_shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """(shortcut, action text) for every action of ``window`` that has a shortcut."""
    rows: dict[tuple[str, str], None] = {}
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        # Standard keys also bind the keyboard's dedicated keys ("New", "Shift+Save"):
        # listing those beside Ctrl+N reads as noise.
        keys = [k for k in keys if k and k.rsplit("+", 1)[-1] not in _DEDICATED_KEYS]
        if keys:
            text = action.text().replace("&", "").strip()
            rows[(", ".join(keys), text)] = None
    return sorted(rows, key=lambda row: row[1].casefold())


class ShortcutsDialog(QDialog):
    """A two-column table: keys, and what they do."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 520)
        rows = [*action_shortcuts(window), *CANVAS_GESTURES]
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        for row, (keys, does) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(does))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)

    def rows(self) -> list[tuple[str, str]]:
        """The table's rows as text (for tests)."""

        def text(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [(text(r, 0), text(r, 1)) for r in range(self.table.rowCount())]
