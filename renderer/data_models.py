"""The models behind :mod:`renderer.data_view`: pages of one output, as a tree and a table.

:class:`PageSource` pulls :class:`~app.results.OutputPage`\\ s through an async fetcher
when a view asks for more (``canFetchMore``/``fetchMore``), one fetch at a time, with
``asyncio.ensure_future`` on the running loop (qasync in the app), so the GUI thread
never waits. :class:`JsonTreeModel` grows its top level page by page and builds a
branch's children only when it is expanded, ``CHILD_BATCH`` at a time, so neither a
100,000-item list nor a large nested one builds its rows up front.
:class:`RecordsTableModel` shows a list of records with one column per common key.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from itertools import islice
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from app.results import OutputPage

#: ``fetch(offset, limit)``: one page of the node's output.
PageFetcher = Callable[[int, int], Awaitable[OutputPage]]
AnyIndex = QModelIndex | QPersistentModelIndex

#: Items asked for per page: a screenful or a few, never the whole output.
PAGE_SIZE = 200
#: Children built per expansion step of a large nested container.
CHILD_BATCH = 500
#: A list is shown as a table when at least this share of its items are objects.
RECORD_SHARE = 0.8
MAX_COLUMNS = 50
PREVIEW_CHARS = 200
TOOLTIP_CHARS = 4000
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_TEXT_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)


def preview(value: Any) -> str:
    """A one-line rendering: containers by size, strings quoted, long text cut."""
    if isinstance(value, dict):
        return f"{{{_count(len(value), 'key')}}}"
    if isinstance(value, list):
        return f"[{_count(len(value), 'item')}]"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def tooltip(value: Any) -> str:
    """A value's text in full, up to :data:`TOOLTIP_CHARS` (the cell cuts at
    :data:`PREVIEW_CHARS`, and a long string could not be read anywhere)."""
    text = value if isinstance(value, str) else preview(value)
    return text if len(text) <= TOOLTIP_CHARS else text[: TOOLTIP_CHARS - 1] + "…"


def type_name(value: Any) -> str:
    """The JSON type of a value, as a user of the data would say it."""
    for kind, name in ((bool, "boolean"), (dict, "object"), (list, "array"), (str, "string")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else "number" if isinstance(value, int | float) else "value"


def record_columns(items: list[Any]) -> list[str] | None:
    """The table columns for a list of records (keys in at least half of the objects,
    in first-seen order), or None when the items are not mostly objects."""
    records = [item for item in items if isinstance(item, dict)]
    if not records or len(records) < RECORD_SHARE * len(items):
        return None
    counts: Counter[str] = Counter(str(key) for record in records for key in record)
    columns = [key for key, n in counts.items() if n * 2 >= len(records)]
    return columns[:MAX_COLUMNS] or None


def memory_fetcher(value: Any) -> PageFetcher:
    """Pages of an in-memory value, so it is shown exactly like a fetched output."""

    async def fetch(offset: int, limit: int) -> OutputPage:
        return OutputPage.of("", "", value, offset=offset, limit=limit, size_bytes=None)

    return fetch


class PageSource(QObject):
    """The pages of one output fetched so far; fetches the next on request, one at a time.

    ``items`` are list items, ``[key, value]`` pairs of an object, or ``[value]`` for a
    scalar (see :class:`~app.results.OutputPage`); ``total`` is None until the first
    page arrives. ``stream_items`` is a streamed output's item count (its pages may
    hold only the first items: ``total`` of them).
    """

    #: Items ``[first, first + count)`` arrived (``count`` may be 0 on the first page).
    rows_loaded = Signal(int, int)
    #: A page could not be fetched; the text says why. No more are asked for.
    fetch_failed = Signal(str)

    def __init__(
        self, fetch: PageFetcher, page_size: int = PAGE_SIZE, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._fetch = fetch
        self.page_size = page_size
        self.kind = "none"
        self.total: int | None = None
        self.size_bytes = 0
        self.stream_items: int | None = None
        self.items: list[Any] = []
        self.pending: asyncio.Future[None] | None = None
        self._closed = False

    def has_more(self) -> bool:
        return not self._closed and (self.total is None or len(self.items) < self.total)

    def fetch_more(self) -> None:
        """Ask for the next page unless one is on its way or there is no more."""
        if self.pending is None and self.has_more():
            self.pending = asyncio.ensure_future(self._load(len(self.items)))

    async def _load(self, offset: int) -> None:
        try:
            page = await self._fetch(offset, self.page_size)
        except Exception as exc:
            self.pending = None
            if not self._closed:
                self.total = len(self.items)  # stop asking: a retry is the user's call
                self.fetch_failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.pending = None
        if self._closed:
            return
        self.kind, self.size_bytes = page.kind, page.size_bytes
        self.stream_items = page.stream_items
        first = len(self.items)
        self.items.extend(page.items)
        # An empty page ends paging even if ``total`` says more: never loop on it.
        self.total = page.total if page.items else len(self.items)
        self.rows_loaded.emit(first, len(page.items))

    def close(self) -> None:
        """Stop: cancel the fetch on its way and ignore anything it still delivers."""
        self._closed = True
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None


class _Node:
    """One tree row. ``children`` is built on expansion, ``CHILD_BATCH`` at a time."""

    __slots__ = ("children", "key", "parent", "row", "value")

    def __init__(self, key: Any, value: Any, parent: _Node | None, row: int) -> None:
        self.key, self.value, self.parent, self.row = key, value, parent, row
        self.children: list[_Node] = []

    def size(self) -> int:
        return len(self.value) if isinstance(self.value, dict | list) else 0


class JsonTreeModel(QAbstractItemModel):
    """A lazy JSON tree over a :class:`PageSource`: columns key, value, type."""

    HEADERS = ("Key", "Value", "Type")

    def __init__(self, source: PageSource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._root = _Node(None, None, None, 0)
        source.rows_loaded.connect(self._add_top_rows)

    def _node(self, index: AnyIndex) -> _Node:
        if not index.isValid():
            return self._root
        node: _Node = index.internalPointer()
        return node

    def _add_top_rows(self, first: int, count: int) -> None:
        if count <= 0:
            return
        self.beginInsertRows(QModelIndex(), first, first + count - 1)
        kind = self.source.kind
        for row in range(first, first + count):
            item = self.source.items[row]
            if kind == "object":
                key, value = item[0], item[1]
            else:
                key, value = (row if kind == "list" else "value"), item
            self._root.children.append(_Node(key, value, self._root, row))
        self.endInsertRows()

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        children = self._node(parent).children
        if 0 <= row < len(children) and 0 <= column < len(self.HEADERS):
            return self.createIndex(row, column, children[row])
        return QModelIndex()

    def parent(self, index: AnyIndex | None = None) -> Any:
        """The index's parent row; with no index, the QObject parent (as Qt's overloads)."""
        if index is None:
            return QObject.parent(self)
        if not index.isValid():
            return QModelIndex()
        up = self._node(index).parent
        if up is None or up is self._root:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        if not parent.isValid():
            return bool(self._root.children) or self.source.has_more()
        return parent.column() == 0 and self._node(parent).size() > 0

    def canFetchMore(self, parent: AnyIndex) -> bool:
        if not parent.isValid():
            return self.source.has_more()
        node = self._node(parent)
        return len(node.children) < node.size()

    def fetchMore(self, parent: AnyIndex) -> None:
        if not parent.isValid():
            self.source.fetch_more()
            return
        node = self._node(parent)
        first = len(node.children)
        last = min(node.size(), first + CHILD_BATCH) - 1
        if last < first:
            return
        value = node.value
        keys = islice(value, first, last + 1) if isinstance(value, dict) else range(first, last + 1)
        self.beginInsertRows(parent, first, last)
        for row, key in enumerate(keys, start=first):
            node.children.append(_Node(key, value[key], node, row))
        self.endInsertRows()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in _TEXT_ROLES:
            return None
        node = self._node(index)
        column = index.column()
        if column == 0:
            return f"[{node.key}]" if isinstance(node.key, int) else str(node.key)
        if column == 1 and role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(node.value)
        return preview(node.value) if column == 1 else type_name(node.value)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


class RecordsTableModel(QAbstractTableModel):
    """A list of records as a table: one row per item, one column per common key."""

    def __init__(self, source: PageSource, columns: list[str], parent: QObject | None = None):
        super().__init__(parent)
        self.source = source
        self.columns = columns
        self._rows = len(source.items)
        source.rows_loaded.connect(self._add_rows)

    def _add_rows(self, first: int, count: int) -> None:
        end = first + count  # rows present when this model was made are counted already
        if end > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, end - 1)
            self._rows = end
            self.endInsertRows()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def canFetchMore(self, parent: AnyIndex) -> bool:
        return not parent.isValid() and self.source.has_more()

    def fetchMore(self, parent: AnyIndex) -> None:
        if not parent.isValid():
            self.source.fetch_more()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.source.items[index.row()]
        key = self.columns[index.column()]
        value = item.get(key) if isinstance(item, dict) else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            return _RIGHT if numeric else None
        if role not in _TEXT_ROLES or not isinstance(item, dict) or key not in item:
            return "" if role in _TEXT_ROLES else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(value)
        # A cell reads as the text itself; the tree keeps the quotes that tell types apart.
        return value[:PREVIEW_CHARS] if isinstance(value, str) else preview(value)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return str(section)
