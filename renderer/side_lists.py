"""The Library and History lists of the left dock.

They show what the engine lists and turn a double-click into an intent signal;
the window does the fetching, so the lists never talk to the worker themselves.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from app.results import BlueprintSummary, ExecutionSummary

_ID = Qt.ItemDataRole.UserRole


class LibraryList(QListWidget):
    """Saved and example blueprints; double-click opens one."""

    #: The user asked to open the blueprint with this id.
    blueprint_open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.itemActivated.connect(self._activated)
        self.itemDoubleClicked.connect(self._activated)

    def set_blueprints(self, blueprints: list[BlueprintSummary]) -> None:
        self.clear()
        for summary in blueprints:
            item = QListWidgetItem(f"{summary.name or summary.id}  ·  {summary.source}")
            item.setData(_ID, summary.id)
            item.setToolTip(summary.description or summary.id)
            self.addItem(item)

    def _activated(self, item: QListWidgetItem) -> None:
        self.blueprint_open_requested.emit(str(item.data(_ID)))


class HistoryList(QListWidget):
    """Past executions, newest first; double-click opens one."""

    #: The user asked to see this execution.
    execution_open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.itemActivated.connect(self._activated)
        self.itemDoubleClicked.connect(self._activated)

    def set_executions(self, executions: list[ExecutionSummary]) -> None:
        self.clear()
        for summary in executions:
            when = time.strftime("%H:%M:%S", time.localtime(summary.created_at))
            name = summary.blueprint_name or summary.blueprint_id
            item = QListWidgetItem(f"{when}  {name}  {summary.status.value}")
            item.setData(_ID, summary.execution_id)
            item.setToolTip(summary.execution_id)
            self.addItem(item)

    def execution_ids(self) -> list[str]:
        ids = []
        for row in range(self.count()):
            item = self.item(row)
            if item is not None:
                ids.append(str(item.data(_ID)))
        return ids

    def _activated(self, item: QListWidgetItem) -> None:
        self.execution_open_requested.emit(str(item.data(_ID)))
