"""The bottom dock: the selected execution's status, nodes, timeline, data and log.

The panel only reads a :class:`~renderer.monitor.monitor_model.ExecutionView`
when told that it changed (the bridge coalesces those calls), so it paints the
latest state at a bounded rate however fast events arrive. The nodes table is a
model over the view's rows, refreshed in place rather than rebuilt item by item.
"""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import ErrorInfo
from app.states import ExecutionStatus
from renderer.canvas.state_badge import reason_label, shown_state
from renderer.data_view import DataView, PageFetcher
from renderer.monitor.log_view import LogView
from renderer.monitor.monitor_model import ExecutionView, NodeRow
from renderer.monitor.time_travel import TimeTravelBar
from renderer.monitor.timeline import TimelineView

#: How much of a blueprint id the status line shows (the tooltip has all of it).
_ID_SHOWN = 48


def _short(text: str) -> str:
    return text if len(text) <= _ID_SHOWN else text[: _ID_SHOWN - 1] + "…"


COLUMNS = ("node", "state", "attempts", "start", "duration", "output size")
_Index = QModelIndex | QPersistentModelIndex


def _size(value: int | None) -> str:
    if value is None:
        return ""
    if value < 1024:
        return f"{value} B"
    return f"{value / 1024:.1f} KiB" if value < 1024 * 1024 else f"{value / 1048576:.1f} MiB"


class NodeTableModel(QAbstractTableModel):
    """Rows of the shown execution's nodes, in the order they were first seen."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[NodeRow] = []
        self._origin: float | None = None
        self._interrupted = False
        self._ended = False

    def show(self, view: ExecutionView | None) -> None:
        rows = list(view.nodes.values()) if view else []
        self._origin = view.started_at if view else None
        self._interrupted = view is not None and view.status is ExecutionStatus.INTERRUPTED
        self._ended = view is not None and view.status.is_terminal
        if [r.node_id for r in rows] != [r.node_id for r in self._rows]:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        else:
            self._rows = rows
            if rows:
                last = self.index(len(rows) - 1, len(COLUMNS) - 1)
                self.dataChanged.emit(self.index(0, 0), last)

    def row_at(self, row: int) -> NodeRow:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        row = self._rows[index.row()]
        match index.column():
            case 0:
                return row.node_id
            case 1:
                state = shown_state(
                    row.status,
                    interrupted=self._interrupted,
                    ended=self._ended,
                    started=row.started,
                ).value
                return f"{state} · {reason_label(row.reason)}" if row.reason else state
            case 2:
                return str(row.attempts) if row.attempts else ""
            case 3:
                if row.started_at is None:
                    return ""
                if self._origin is None:
                    return time.strftime("%H:%M:%S", time.localtime(row.started_at))
                return f"{row.started_at - self._origin:.2f} s"
            case 4:
                duration = row.duration
                return "" if duration is None else f"{duration * 1000:.0f} ms"
            case 5:
                return _size(row.output_size)
        return None

    def cell(self, row: int, column: int) -> str:
        value = self.data(self.index(row, column))
        return "" if value is None else str(value)


class MonitorPanel(QWidget):
    """Status line, execution picker and the Nodes / Timeline / Data / Log tabs."""

    #: The user picked another execution to watch.
    execution_chosen = Signal(str)
    #: The user selected a node: show its data (execution_id, node_id).
    node_data_requested = Signal(str, str)
    #: The user followed the error-handler link: open that execution.
    execution_link_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_label = QLabel("No execution")
        # A long blueprint id once widened the whole window past the screen (Xvfb
        # trial): the label may be narrower than its text, the full text is its tooltip.
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label.setMinimumWidth(0)
        #: The error-handler link of the shown execution (hidden without one).
        self.link_label = QLabel()
        self.link_label.setTextFormat(Qt.TextFormat.RichText)
        self.link_label.linkActivated.connect(self.execution_link_requested)
        self.link_label.hide()
        #: ``child of ▸ id`` on a child execution (a link that opens its parent run).
        self.parent_link = QLabel()
        self.parent_link.setTextFormat(Qt.TextFormat.RichText)
        self.parent_link.linkActivated.connect(self.execution_link_requested)
        self.parent_link.hide()
        self.picker = QComboBox()
        self.picker.setMinimumContentsLength(28)
        self.picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.picker.currentIndexChanged.connect(self._picked)
        self.table_model = NodeTableModel()
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._row_selected)
        self.timeline = TimelineView()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.timeline)
        self.data_view = DataView()
        self.log_view = LogView()
        #: The scrubber over the shown execution's events (driven by RunControl).
        self.time_travel_bar = TimeTravelBar()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Nodes")
        self.tabs.addTab(scroll, "Timeline")
        self.tabs.addTab(self.data_view, "Data")
        self.tabs.addTab(self.log_view, "Log")
        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        top.addWidget(self.link_label)
        top.addWidget(self.parent_link)
        top.addWidget(QLabel("Execution:"))
        top.addWidget(self.picker)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.time_travel_bar)
        layout.addWidget(self.tabs)
        self._view: ExecutionView | None = None

    @property
    def execution_id(self) -> str | None:
        return self._view.execution_id if self._view else None

    def add_execution(self, execution_id: str, label: str) -> None:
        """List an execution in the picker (once) and select it."""
        index = self.picker.findData(execution_id)
        if index < 0:
            self.picker.insertItem(0, label, execution_id)
            index = 0
        self.picker.setCurrentIndex(index)

    def _picked(self, index: int) -> None:
        execution_id = self.picker.itemData(index)
        if isinstance(execution_id, str) and execution_id != self.execution_id:
            self.execution_chosen.emit(execution_id)

    def show_execution(self, view: ExecutionView | None) -> None:
        """Show ``view`` (or refresh it, when it is the one shown)."""
        self._view = view
        if view is None:
            self.status_label.setText("No execution")
        else:
            self.status_label.setText(
                f"exec {view.execution_id[:8]}… {html.escape(_short(view.blueprint_id))}  "
                f"<b>{view.status}</b>  {view.elapsed():.2f} s  ·  {view.events_seen} events"
            )
            self.status_label.setToolTip(f"{view.execution_id}\n{view.blueprint_id}")
        self._show_link(view)
        self.table_model.show(view)
        self.timeline.show_execution(view)
        self.log_view.show_execution(view)

    def _show_link(self, view: ExecutionView | None) -> None:
        """``error handler run ▸ id`` on a failed execution that started one,
        ``handles ▸ id`` on a handler's run: each a link that opens the other."""
        linked, words = None, ""
        if view is not None and view.error_handler_execution is not None:
            linked, words = view.error_handler_execution, "error handler run"
        elif view is not None and view.handler_for is not None:
            linked, words = view.handler_for, "handles"
        if linked is None:
            self.link_label.hide()
            return
        target = html.escape(linked, quote=True)
        self.link_label.setText(f'{words} <a href="{target}">{html.escape(linked[:8])}…</a>')
        self.link_label.setToolTip(f"{words}: {linked} (click to open)")
        self.link_label.show()

    def show_parent(self, parent_id: str | None, node_id: str | None) -> None:
        """Link a child execution (a ``blueprint.call`` node's run) to its parent run."""
        if parent_id is None:
            self.parent_link.hide()
            return
        target = html.escape(parent_id, quote=True)
        node = f" · {html.escape(node_id)}" if node_id else ""
        self.parent_link.setText(
            f'child of <a href="{target}">{html.escape(parent_id[:8])}…</a>{node}'
        )
        self.parent_link.setToolTip(f"parent run: {parent_id} (click to open)")
        self.parent_link.show()

    def _row_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self._view is not None:
            node_id = self.table_model.row_at(current.row()).node_id
            self.node_data_requested.emit(self._view.execution_id, node_id)

    def select_node(self, node_id: str) -> None:
        """Select a node's row (as a click would), which asks for its data."""
        for row in range(self.table_model.rowCount()):
            if self.table_model.row_at(row).node_id == node_id:
                self.table.selectRow(row)
                return

    def show_node(
        self,
        node_id: str,
        fetch: PageFetcher | None,
        error: ErrorInfo | None = None,
        input_value: Any = None,
    ) -> None:
        """Show a node's output, paged from the engine by ``fetch`` (a large output is
        never shipped whole), its error when it failed and its input when given (a
        debug-mode run records it)."""
        self.data_view.set_source(fetch, title=node_id, error=error, input_value=input_value)
        self.tabs.setCurrentWidget(self.data_view)
