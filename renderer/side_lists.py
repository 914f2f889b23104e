"""The Library and History lists of the left dock.

They show what the engine lists and turn a double-click into an intent signal;
the window does the fetching, so the lists never talk to the worker themselves.
The History list has a filter line (the window places it above the list) that
keeps the rows whose blueprint id, name or status contain every typed word.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QWidget

from app.results import BlueprintSummary, ExecutionSummary

_ID = Qt.ItemDataRole.UserRole
#: The text the History filter matches: blueprint id, name and status.
_SEARCH = Qt.ItemDataRole.UserRole + 1


class LibraryList(QListWidget):
    """Saved and example blueprints; double-click opens one."""

    #: The user asked to open the blueprint with this id.
    blueprint_open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Only ``itemActivated`` (a double-click, or Enter): a double-click also emits
        # ``itemDoubleClicked``, and listening to both asked "unsaved changes?" twice.
        self.itemActivated.connect(self._activated)

    def set_blueprints(self, blueprints: list[BlueprintSummary]) -> None:
        self.clear()
        for summary in blueprints:
            item = QListWidgetItem(f"{summary.name or summary.id}  ·  {summary.source}")
            item.setData(_ID, summary.id)
            about = f"{summary.name or summary.id} ({summary.id}) · {summary.source}"
            item.setToolTip(f"{about}\n{summary.description}" if summary.description else about)
            self.addItem(item)

    def _activated(self, item: QListWidgetItem) -> None:
        self.blueprint_open_requested.emit(str(item.data(_ID)))


class HistoryList(QListWidget):
    """Past executions, newest first; double-click opens one."""

    #: The user asked to see this execution.
    execution_open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.itemActivated.connect(self._activated)  # not itemDoubleClicked too: see above
        #: Not a child: the window lays it out above the list.
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by blueprint or status…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)

    def set_executions(self, executions: list[ExecutionSummary]) -> None:
        self.clear()
        for summary in executions:
            when = time.strftime("%H:%M:%S", time.localtime(summary.created_at))
            name = summary.blueprint_name or summary.blueprint_id
            item = QListWidgetItem(f"{when}  {name}  {summary.status.value}")
            item.setData(_ID, summary.execution_id)
            # The row is cut to the dock's width: the tooltip holds all of it.
            full = f"{name} ({summary.blueprint_id})" if name != summary.blueprint_id else name
            item.setToolTip(f"{full}\n{summary.status.value} · {when}\n{summary.execution_id}")
            search = (summary.blueprint_id, summary.blueprint_name or "", summary.status.value)
            item.setData(_SEARCH, " ".join(search).casefold())
            self.addItem(item)
        self._apply_filter(self.filter_edit.text())

    def execution_ids(self, *, visible_only: bool = False) -> list[str]:
        """The listed executions, newest first (``visible_only``: those the filter keeps)."""
        ids = []
        for row in range(self.count()):
            item = self.item(row)
            if item is not None and not (visible_only and item.isHidden()):
                ids.append(str(item.data(_ID)))
        return ids

    def _apply_filter(self, text: str) -> None:
        words = text.casefold().split()
        for row in range(self.count()):
            item = self.item(row)
            if item is not None:
                search = str(item.data(_SEARCH))
                item.setHidden(not all(word in search for word in words))

    def _activated(self, item: QListWidgetItem) -> None:
        self.execution_open_requested.emit(str(item.data(_ID)))
