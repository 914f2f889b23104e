"""A loop node's iterations in the monitor: counts, a table read by page, one output.

A loop may run 10,000 iterations, so the table never holds or asks for all of them:
its row count is the recorded total (from the counts every page carries) and it
asks for the page of :data:`ITERATION_PAGE` rows that holds a row only when the
view paints that row. A refresh during a live run keeps the rows shown (no
flicker) but marks every page stale, so the visible ones are read again — rows
may shift while iterations finish out of order under ``concurrency``. Fetching is
not done here: the table asks through :attr:`IterationTableModel.page_wanted`
and is given pages, so this module knows no worker.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.states import NodeStatus
from app.subflow_results import Iteration, IterationCounts
from renderer.data_view import DataView

#: Iterations asked for per page: a few screenfuls, never the whole loop.
ITERATION_PAGE = 200
COLUMNS = ("index", "status", "error")
_Index = QModelIndex | QPersistentModelIndex


class IterationTableModel(QAbstractTableModel):
    """Rows ``[0, total)`` of one loop node's iterations (one status filter), by page."""

    #: The view needs page ``number`` (rows ``number * ITERATION_PAGE`` on); fetch it.
    page_wanted = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        #: Page number → its rows, as last read (kept while stale, until re-read).
        self.pages: dict[int, list[Iteration]] = {}
        self._stale: set[int] = set()
        self._asked: set[int] = set()

    def reset(self, total: int = 0) -> None:
        """Forget every row (another node, execution or filter)."""
        self.beginResetModel()
        self.total, self.pages, self._stale, self._asked = total, {}, set(), set()
        self.endResetModel()

    def refresh(self, total: int) -> None:
        """The loop recorded more: grow to ``total`` rows and re-read the visible pages."""
        if total < self.total:
            self.reset(total)
            return
        if total > self.total:
            self.beginInsertRows(QModelIndex(), self.total, total - 1)
            self.total = total
            self.endInsertRows()
        self._stale = set(self.pages)
        if self.total:
            self.dataChanged.emit(self.index(0, 0), self.index(self.total - 1, len(COLUMNS) - 1))

    def set_page(self, number: int, items: list[Iteration]) -> None:
        """Page ``number`` arrived (read after the last :meth:`reset`)."""
        self._asked.discard(number)
        self._stale.discard(number)
        self.pages[number] = items
        first = number * ITERATION_PAGE
        last = min(self.total, first + ITERATION_PAGE) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def page_failed(self, number: int) -> None:
        """A read failed: ask again only when the view paints the page again."""
        self._asked.discard(number)

    def iteration(self, row: int) -> Iteration | None:
        """The row's iteration when its page was read (None: not yet)."""
        page = self.pages.get(row // ITERATION_PAGE)
        offset = row % ITERATION_PAGE
        return page[offset] if page is not None and offset < len(page) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.total

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
        number = index.row() // ITERATION_PAGE
        if (number not in self.pages or number in self._stale) and number not in self._asked:
            self._asked.add(number)
            self.page_wanted.emit(number)
        item = self.iteration(index.row())
        if item is None:
            return "…" if index.column() == 0 else ""
        match index.column():
            case 0:
                return str(item.index)
            case 1:
                return item.status.value
            case 2:
                return item.error.message if item.error is not None else ""
        return None

    def cell(self, row: int, column: int) -> str:
        value = self.data(self.index(row, column))
        return "" if value is None else str(value)


def counts_text(counts: IterationCounts, *, live: bool) -> str:
    text = f"{counts.completed:,} done, {counts.failed:,} failed"
    return f"{text} · running" if live else text


class IterationsPanel(QWidget):
    """The Iterations tab: counts, a status filter, the table and the chosen one's data."""

    #: The user chose another status filter (its index in :attr:`filter_box`).
    filter_changed = Signal()
    #: The user clicked a row: show that iteration (its row in the table).
    row_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.counts_label = QLabel()
        self.filter_box = QComboBox()
        self.filter_box.addItems(["all", NodeStatus.FAILED.value])
        self.filter_box.currentIndexChanged.connect(lambda _i: self.filter_changed.emit())
        self.model = IterationTableModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        # Fixed row heights: Qt then never measures 10,000 rows it does not show.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.clicked.connect(lambda index: self.row_chosen.emit(index.row()))
        self.table.activated.connect(lambda index: self.row_chosen.emit(index.row()))
        #: The chosen iteration's output (and error), read-only.
        self.data_view = DataView()
        self.data_view.clear()
        self.data_view.header.setText("Click an iteration to see its data")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.counts_label, 1)
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter_box)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.data_view)
        split.setSizes([320, 480])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    @property
    def failed_only(self) -> bool:
        return self.filter_box.currentIndex() == 1

    def show_counts(self, node_id: str, counts: IterationCounts, *, live: bool) -> None:
        self.title.setText(f"<b>{node_id}</b>")
        self.counts_label.setText(counts_text(counts, live=live))
