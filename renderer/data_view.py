"""One node's data, shown without ever holding or building all of it at once.

A node's output may be a 100,000-item list, so the view never asks for it whole: it
is given an async page fetcher (``conductor.node_output`` bound to one execution and
node) and shows what :mod:`renderer.data_models` has fetched so far — a lazy JSON
tree, and for a list of records (objects with mostly the same keys) a table tab.
Views fetch more as they scroll; nothing blocks the GUI thread. A new source
cancels the old one's fetch. The node's input (debug mode) is paged from memory
through the same models, and an error shows its message and traceback.
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QTableView,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.errors import ErrorInfo
from renderer.data_models import (
    PAGE_SIZE,
    JsonTreeModel,
    PageFetcher,
    PageSource,
    RecordsTableModel,
    memory_fetcher,
    record_columns,
)
from renderer.fonts import fixed_font

__all__ = ["DataView", "PageFetcher"]


def _size_text(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    return f"{size / 1024:,.1f} KB" if size < 1024**2 else f"{size / 1024**2:,.1f} MB"


def stream_header(source: PageSource) -> str:
    """A streamed output's header: ``stream · 10,000 items · 247.4 KB · first 1,000
    shown`` (only the first items were kept) or ``… · all recorded`` (every item)."""
    items = source.stream_items or 0
    total = source.total or 0
    kept = "all recorded" if total >= items else f"first {total:,} shown"
    return f"stream · {items:,} items · {_size_text(source.size_bytes)} · {kept}"


class DataView(QWidget):
    """One node's output (tree, and table for records), its input and its error, in tabs."""

    #: A page of the output could not be fetched; the text says why.
    fetch_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__(parent)
        self._page_size = page_size
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)  # a long node id or message wraps, not cut
        self.tabs = QTabWidget()
        self.tree = self._tree_view()
        self.input_tree = self._tree_view()
        self.table = QTableView()
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.error_text = QPlainTextEdit()
        self.error_text.setReadOnly(True)
        self.error_text.setFont(fixed_font())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs)
        self.source: PageSource | None = None
        self.input_source: PageSource | None = None
        self.tree_model: JsonTreeModel | None = None
        self.input_model: JsonTreeModel | None = None
        self.table_model: RecordsTableModel | None = None
        self.title = ""

    @staticmethod
    def _tree_view() -> QTreeView:
        view = QTreeView()
        view.setUniformRowHeights(True)  # lets Qt skip measuring rows it does not show
        view.setAlternatingRowColors(True)
        view.header().resizeSection(0, 160)
        view.header().resizeSection(1, 320)
        return view

    def set_source(
        self,
        fetch: PageFetcher | None,
        *,
        title: str,
        error: ErrorInfo | None = None,
        input_value: Any = None,
    ) -> None:
        """Show a node's data: its output through ``fetch`` (None: no output), its
        ``error`` and, when given, its ``input``. Replaces what was shown."""
        self._close_sources()
        self.title = title
        self.tabs.clear()
        self.table_model = None
        if fetch is not None:
            self.source = PageSource(fetch, self._page_size, self)
            self.tree_model = JsonTreeModel(self.source, self)
            self.tree.setModel(self.tree_model)
            self.tabs.addTab(self.tree, "Output")
            self.source.rows_loaded.connect(self._first_page)
            self.source.fetch_failed.connect(self._failed)
            self.source.fetch_more()
        if input_value is not None:
            self.input_source = PageSource(memory_fetcher(input_value), self._page_size, self)
            self.input_model = JsonTreeModel(self.input_source, self)
            self.input_tree.setModel(self.input_model)
            self.tabs.addTab(self.input_tree, "Input")
            self.input_source.fetch_more()
        if error is not None:
            lines = [f"{error.type}: {error.message}"]
            if error.where or error.node_id:
                lines.append(f"at {error.where or error.node_id}")
            if error.traceback:
                lines += ["", error.traceback.rstrip()]
            self.error_text.setPlainText("\n".join(lines))
            self.tabs.addTab(self.error_text, "Error")
            self.tabs.setCurrentWidget(self.error_text)
        self._update_header()

    def clear(self) -> None:
        """Show nothing: a new run or another blueprint makes the shown data stale (the
        previous run's output, once another blueprint's node, stayed on screen)."""
        self._close_sources()
        self.title = ""
        self.tabs.clear()
        self.table_model = None
        self.header.setText("Select a node to see its data")

    def _first_page(self, first: int, count: int) -> None:
        source = self.source
        if source is None or first != 0:
            return
        source.rows_loaded.disconnect(self._first_page)
        columns = record_columns(source.items) if source.kind == "list" else None
        if columns is not None:
            self.table_model = RecordsTableModel(source, columns, self)
            self.table.setModel(self.table_model)
            self.tabs.insertTab(0, self.table, "Table")
            if self.tabs.currentWidget() is not self.error_text:
                self.tabs.setCurrentWidget(self.table)
        self._update_header()

    def _failed(self, message: str) -> None:
        self.header.setText(f"{self.title} — could not load: {message}")
        self.fetch_failed.emit(message)

    def _update_header(self) -> None:
        source = self.source
        if source is None:
            self.header.setText(f"{self.title} — no output")
        elif source.total is None:
            self.header.setText(f"{self.title} — loading…")
        elif source.stream_items is not None:
            self.header.setText(f"{self.title} — {stream_header(source)}")
        else:
            noun = {"list": "item", "object": "key"}.get(source.kind)
            plural = "" if source.total == 1 else "s"
            what = f"{source.total:,} {noun}{plural}" if noun else source.kind
            size = f" · {_size_text(source.size_bytes)}" if source.size_bytes else ""
            self.header.setText(f"{self.title} — {what}{size}")

    def _close_sources(self) -> None:
        for source in (self.source, self.input_source):
            if source is not None:
                source.close()
        self.source = self.input_source = None

    async def settled(self) -> None:
        """Wait until no fetch is on its way (tests; a caller that must see a page)."""
        while True:
            pending = [s.pending for s in (self.source, self.input_source) if s and s.pending]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)
