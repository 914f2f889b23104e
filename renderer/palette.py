"""The node palette: every node type the engine offers, grouped, filtered as you type.

Types come from ``conductor.node_types()`` (a list of :class:`NodeTypeInfo`), so a
plugin's node appears here without GUI code. Double-click or Enter asks for a node
(``node_type_requested``; the window adds it through the document); dragging an
entry onto the canvas drops it where the mouse is (the scene handles the drop).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.results import NodeTypeInfo
from renderer.canvas.scene import NODE_TYPE_MIME
from renderer.canvas.theme import LIGHT, CanvasTheme
from renderer.editor.node_catalog import NodeTypeCatalog

_TYPE_ROLE = Qt.ItemDataRole.UserRole


def _dot(colour: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


def matches(info: NodeTypeInfo, text: str) -> bool:
    """Whether every word of ``text`` is in the type's title, name, category or description."""
    haystack = f"{info.title} {info.type} {info.category} {info.description}".lower()
    return all(word in haystack for word in text.lower().split())


class _TypeTree(QTreeWidget):
    """A tree whose type entries drag out as :data:`NODE_TYPE_MIME`."""

    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME]

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            self.itemDoubleClicked.emit(item, 0)
            event.accept()
            return
        super().keyPressEvent(event)

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        names = [str(i.data(0, _TYPE_ROLE)) for i in items if i.data(0, _TYPE_ROLE)]
        if names:
            data.setData(NODE_TYPE_MIME, names[0].encode("utf-8"))
        return data


class NodePalette(QWidget):
    """The list of node types with a filter box (see the module docstring)."""

    #: The user asked to add a node of this type (double-click, or Enter).
    node_type_requested = Signal(str)

    def __init__(
        self,
        node_types: Iterable[NodeTypeInfo] = (),
        theme: CanvasTheme = LIGHT,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._theme = theme
        self._catalog = NodeTypeCatalog()
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Search nodes…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.set_filter)
        self.filter_edit.returnPressed.connect(self._request_first)
        self.tree = _TypeTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        # Double-click (not "activated": a single click activates on some desktops,
        # and would add a node when the user only meant to start a drag).
        self.tree.itemDoubleClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tree)
        self.set_node_types(node_types)

    def set_theme(self, theme: CanvasTheme) -> None:
        """Use this theme's category colours for the entries' icons."""
        self._theme = theme
        self.set_node_types(self._catalog.infos())

    def set_node_types(self, node_types: Iterable[NodeTypeInfo]) -> None:
        """Show these types (from ``conductor.node_types()``), keeping the filter."""
        self._catalog = NodeTypeCatalog(node_types)
        self.tree.clear()
        for category in self._catalog.categories():
            group = QTreeWidgetItem(self.tree, [category])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            icon = _dot(self._theme.category_colour(category))
            for info in self._catalog.infos():
                if info.category != category:
                    continue
                item = QTreeWidgetItem(group, [info.title])
                item.setIcon(0, icon)
                item.setData(0, _TYPE_ROLE, info.type)
                item.setToolTip(0, f"{info.type}\n{info.description}".strip())
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsDragEnabled
                )
            group.setExpanded(True)
        self.set_filter(self.filter_edit.text())

    def _groups(self) -> Iterator[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]]:
        """Each category item with its type items."""
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            if group is None:
                continue
            children = [group.child(c) for c in range(group.childCount())]
            yield group, [item for item in children if item is not None]

    def set_filter(self, text: str) -> None:
        """Show only types matching every word of ``text``; empty groups hide."""
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)
            return
        for group, items in self._groups():
            shown = 0
            for item in items:
                info = self._catalog.get(str(item.data(0, _TYPE_ROLE)))
                hidden = info is None or not matches(info, text)
                item.setHidden(hidden)
                shown += not hidden
            group.setHidden(shown == 0)

    def visible_types(self) -> list[str]:
        """Type names currently shown, top to bottom."""
        return [
            str(item.data(0, _TYPE_ROLE))
            for group, items in self._groups()
            if not group.isHidden()
            for item in items
            if not item.isHidden()
        ]

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        """The entry for ``type_name`` (to scroll to, or to drag in a test)."""
        for _group, items in self._groups():
            for item in items:
                if item.data(0, _TYPE_ROLE) == type_name:
                    return item
        return None

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        type_name = item.data(0, _TYPE_ROLE)
        if type_name:
            self.node_type_requested.emit(str(type_name))

    def _request_first(self) -> None:
        shown = self.visible_types()
        if shown:
            self.node_type_requested.emit(shown[0])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.filter_edit.text():
            self.filter_edit.clear()
            event.accept()
            return
        super().keyPressEvent(event)
