"""The Triggers panel: the worker's triggers, with their next fire, last run and an
on/off switch.

The panel shows what the worker lists (``conductor.triggers.list()``) and turns a
click into an intent; :class:`TriggersControl` does the asking, so the panel never
talks to the worker itself. The list is refreshed when the worker is ready, after
each run, and every few seconds while the window is open (a schedule fires without
the window knowing). A suspended trigger shows half-checked: a click turns it on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.states import ExecutionStatus
from app.triggers import TriggerInfo, TriggerState
from ipc.process import WorkerState

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

_ID = Qt.ItemDataRole.UserRole
_HEADERS = ["On", "Trigger", "Kind", "Next fire", "Last run"]
_CHECKS = {
    TriggerState.ENABLED: Qt.CheckState.Checked,
    TriggerState.SUSPENDED: Qt.CheckState.PartiallyChecked,
    TriggerState.DISABLED: Qt.CheckState.Unchecked,
}
#: How often the list is read again while the window is open (ms).
REFRESH_MS = 5000


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


class TriggersPanel(QTableWidget):
    """One row per trigger of the data dir's blueprints."""

    #: The user asked to turn this trigger on (True) or off (False).
    toggle_requested = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(_HEADERS), parent)
        self.setObjectName("triggers-table")
        self.setHorizontalHeaderLabels(_HEADERS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.triggers: dict[str, TriggerInfo] = {}
        self._filling = False
        self.itemChanged.connect(self._item_changed)

    def set_triggers(self, triggers: list[TriggerInfo]) -> None:
        selected = self.selected_id()
        self._filling = True
        try:
            self.triggers = {t.id: t for t in triggers}
            self.setRowCount(len(triggers))
            for row, info in enumerate(triggers):
                # Items are updated in place: a refresh must not delete the item a
                # click (or a caller) holds.
                switch = self._cell(row, 0)
                switch.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                switch.setCheckState(_CHECKS[info.state])
                switch.setData(_ID, info.id)
                switch.setToolTip(info.state.value)
                last = "-"
                if info.last_outcome is not None:
                    last = (
                        f"{_when(info.last_fire_at)} {info.last_status or info.last_outcome.value}"
                    )
                texts = [info.id, info.kind, _when(info.next_fire_at), last]
                for column, text in enumerate(texts, start=1):
                    cell = self._cell(row, column)
                    cell.setText(text)
                    cell.setData(_ID, info.id)
                    cell.setToolTip(info.error or info.describe)
                if info.id == selected:
                    self.selectRow(row)
        finally:
            self._filling = False

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.setItem(row, column, item)
        return item

    def selected_id(self) -> str | None:
        item = self.currentItem()
        value = None if item is None else item.data(_ID)
        return value if isinstance(value, str) else None

    def row_of(self, trigger_id: str) -> int | None:
        for row in range(self.rowCount()):
            item = self.item(row, 0)
            if item is not None and item.data(_ID) == trigger_id:
                return row
        return None

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0:
            return
        trigger_id = item.data(_ID)
        if isinstance(trigger_id, str):
            self.toggle_requested.emit(trigger_id, item.checkState() != Qt.CheckState.Unchecked)


class TriggersControl:
    """Docks the panel in the window and asks the worker for what it shows and does."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.panel = TriggersPanel()
        self.fire_button = QPushButton("Fire now")
        self.fire_button.setObjectName("triggers-fire")
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(self.panel)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.fire_button)
        column.addLayout(row)
        self.dock: QDockWidget = window._dock(
            "Triggers", box, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        monitor = window.findChild(QDockWidget, "dock-monitor")
        if isinstance(monitor, QDockWidget):
            window.tabifyDockWidget(monitor, self.dock)
            monitor.raise_()
        self._newest: list[tuple[str, ExecutionStatus]] | None = None
        self.timer = QTimer(window)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.panel.toggle_requested.connect(self.set_enabled)
        self.fire_button.clicked.connect(self.fire_selected)
        bridge = window.bridge
        bridge.worker_state_changed.connect(lambda *_: self.refresh())
        bridge.execution_finished.connect(lambda *_: self.refresh())

    def refresh(self) -> None:
        bridge = self.window.bridge
        if bridge.worker_state != WorkerState.READY.value:
            return

        async def read() -> None:
            self.panel.set_triggers(await bridge.conductor.triggers.list())
            # Runs the window did not start (a trigger's, another process's) show in
            # History without waiting for one it starts: the newest one is compared.
            newest = await bridge.conductor.list_executions(limit=1)
            seen = [(e.execution_id, e.status) for e in newest]
            if seen != self._newest:
                if self._newest is not None:
                    self.window.refresh_lists()
                self._newest = seen

        bridge.submit(read(), "list triggers")

    def set_enabled(self, trigger_id: str, on: bool) -> None:
        state = TriggerState.ENABLED if on else TriggerState.DISABLED
        bridge = self.window.bridge

        async def change() -> None:
            await bridge.conductor.triggers.set_state(trigger_id, state)
            self.panel.set_triggers(await bridge.conductor.triggers.list())

        bridge.submit(change(), "change a trigger")

    def fire_selected(self) -> None:
        trigger_id = self.panel.selected_id()
        if trigger_id is None:
            return
        bridge = self.window.bridge

        async def fire() -> None:
            fired = await bridge.conductor.triggers.fire(trigger_id)
            shown = fired.execution_id or fired.outcome.value
            self.window.statusBar().showMessage(f"{trigger_id} fired: {shown}", 8000)
            self.panel.set_triggers(await bridge.conductor.triggers.list())
            self.window.refresh_lists()  # the run it started shows in History

        bridge.submit(fire(), "fire a trigger")
