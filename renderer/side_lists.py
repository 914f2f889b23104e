"""The Library and History lists of the left dock.

They show what the engine lists and turn a double-click into an intent signal;
the window does the fetching, so the lists never talk to the worker themselves.
The History list has a filter line (the window places it above the list) that
keeps the rows whose blueprint id, name or status contain every typed word.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QWidget,
)

from app.fault_injection import inject_text
from app.results import BlueprintSummary, ExecutionSummary

_ID = Qt.ItemDataRole.UserRole
#: The text the History filter matches: blueprint id, name and status.
_SEARCH = Qt.ItemDataRole.UserRole + 1
#: What a History row adds after the status of a run with injected faults.
SIMULATED = " (simulated)"


class LibraryList(QListWidget):
    """The user's blueprints (data dir) and the bundled examples.

    Double-click opens one; the buttons under the list (and its context menu) open,
    rename, duplicate or delete the selected one. Rename and Delete apply to the
    user's own blueprints only: the examples are read-only (duplicate one to change it).
    """

    #: The user asked to open the blueprint with this id.
    blueprint_open_requested = Signal(str)
    #: The user asked to give this blueprint a new id.
    rename_requested = Signal(str)
    #: The user asked for a copy of this blueprint under a new id.
    duplicate_requested = Signal(str)
    #: The user asked to delete this blueprint.
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summaries: dict[str, BlueprintSummary] = {}
        # Only ``itemActivated`` (a double-click, or Enter): a double-click also emits
        # ``itemDoubleClicked``, and listening to both asked "unsaved changes?" twice.
        self.itemActivated.connect(self._activated)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        #: Not a child: the window lays it out under the list.
        self.buttons = QWidget()
        row = QHBoxLayout(self.buttons)
        row.setContentsMargins(0, 0, 0, 0)
        self.action_buttons: dict[str, QPushButton] = {}
        for text, signal in self._actions():
            button = QPushButton(text)
            button.setObjectName(f"library-{text.lower()}")
            button.clicked.connect(lambda _checked=False, s=signal: self._emit_selected(s))
            row.addWidget(button)
            self.action_buttons[text] = button
        self.currentItemChanged.connect(lambda *_: self._enable())
        self._enable()

    def _actions(self) -> list[tuple[str, SignalInstance]]:
        return [
            ("Open", self.blueprint_open_requested),
            ("Rename", self.rename_requested),
            ("Duplicate", self.duplicate_requested),
            ("Delete", self.delete_requested),
        ]

    def set_blueprints(self, blueprints: list[BlueprintSummary]) -> None:
        selected = self.selected_id()
        self.clear()
        self.summaries = {summary.id: summary for summary in blueprints}
        for summary in sorted(blueprints, key=lambda s: (s.source != "user", s.id)):
            origin = "mine" if summary.source == "user" else summary.source
            label = summary.name or summary.id
            shown = f"{label} ({summary.id})" if label != summary.id else label
            item = QListWidgetItem(f"{row_label(summary.name, summary.id)}  ·  {origin}")
            item.setData(_ID, summary.id)
            about = f"{shown} · {origin}"
            item.setToolTip(f"{about}\n{summary.description}" if summary.description else about)
            self.addItem(item)
            if summary.id == selected:
                self.setCurrentItem(item)
        self._enable()

    def selected_id(self) -> str | None:
        item = self.currentItem()
        return None if item is None else str(item.data(_ID))

    def select(self, blueprint_id: str) -> None:
        for row in range(self.count()):
            item = self.item(row)
            if item is not None and item.data(_ID) == blueprint_id:
                self.setCurrentItem(item)

    def _is_user(self, blueprint_id: str | None) -> bool:
        summary = self.summaries.get(blueprint_id or "")
        return summary is not None and summary.source == "user"

    def _enable(self) -> None:
        chosen = self.selected_id()
        for text, button in self.action_buttons.items():
            mine_only = text in ("Rename", "Delete")
            button.setEnabled(chosen is not None and (self._is_user(chosen) or not mine_only))

    def _emit_selected(self, signal: SignalInstance) -> None:
        chosen = self.selected_id()
        if chosen is not None:
            signal.emit(chosen)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        self.setCurrentItem(item)
        self.context_menu().popup(self.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """The menu for the selected blueprint (what a right-click shows)."""
        menu = QMenu(self)
        for text, _signal in self._actions():
            button = self.action_buttons[text]
            action = menu.addAction(text, button.click)
            action.setEnabled(button.isEnabled())
        return menu

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
            row = row_label(summary.blueprint_name, summary.blueprint_id)
            # The status before the name: a long name pushed it out of the dock.
            # A run with injected faults says so: its failure was asked for.
            simulated = SIMULATED if summary.inject else ""
            link, link_tip = _handler_link(summary)
            item = QListWidgetItem(f"{when}  {summary.status.value}{simulated}  {row}{link}")
            item.setData(_ID, summary.execution_id)
            # The row is cut to the dock's width: the tooltip holds all of it.
            shown = history_label(summary)
            tip = f"{shown}\n{summary.status.value} · {when}\n{summary.execution_id}{link_tip}"
            if summary.inject:
                tip += f"\nsimulated failures: {inject_text(summary.inject)}"
            item.setToolTip(tip)
            search = [summary.blueprint_id, summary.blueprint_name or "", summary.status.value]
            search += [SIMULATED.strip(" ()")] if summary.inject else []
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


def _handler_link(summary: ExecutionSummary) -> tuple[str, str]:
    """A History row's error-handler mark and its tooltip line (empty without one)."""
    if summary.error_handler_execution_id is not None:
        handler = summary.error_handler_execution_id
        return "  → handler", f"\nstarted error handler run {handler} (open it from the monitor)"
    if summary.handler_for is not None:
        return "  (error handler)", f"\nerror handler of {summary.handler_for}"
    return "", ""


def history_label(summary: ExecutionSummary) -> str:
    """Name and id of the blueprint an execution ran (two unsaved blueprints once
    both read "untitled" here): ``Fan out (fan)``, or the id alone when unnamed."""
    name = summary.blueprint_name
    if name and name != summary.blueprint_id:
        return f"{name} ({summary.blueprint_id})"
    return summary.blueprint_id


#: How much of a name, and of an id, a Library or History row shows.
_NAME_SHOWN, _ID_SHOWN = 32, 40


def _middle(text: str, limit: int) -> str:
    """``text`` cut in the middle to ``limit`` characters (both ends tell ids apart)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def row_label(name: str | None, blueprint_id: str) -> str:
    """A row's ``name (id)``, each part shortened so rows stay told apart in a narrow
    dock: two blueprints with a long name read the same, and History's status was cut
    off (Xvfb trial). The tooltip holds the whole text."""
    if name and name != blueprint_id:
        return f"{_middle(name, _NAME_SHOWN)} ({_middle(blueprint_id, _ID_SHOWN)})"
    return _middle(blueprint_id, _ID_SHOWN)
