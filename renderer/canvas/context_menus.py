"""Right-click menus on the canvas, a node and a connection.

Every entry does what a key or a menu already does (delete, duplicate, rename, add
a node, fit, lay out); the menu only puts it where the pointer is, as n8n and
Node-RED users expect. The window adds its own node actions — run from here, run
this node, pin, disable — to :attr:`CanvasMenus.node_extras`; they act on the
selection, so right-clicking a node first selects it (unless it is already part of
a selection, which then stays whole).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGraphicsItem, QInputDialog, QLineEdit, QMenu, QWidget

from renderer.canvas.edge_item import EdgeItem
from renderer.canvas.node_item import NodeItem
from renderer.canvas.notes import NoteItem, NoteLayer
from renderer.canvas.quick_add import QuickAdd
from renderer.canvas.scene import BlueprintScene
from renderer.editor.errors import EditError


def _owner(item: QGraphicsItem | None) -> QGraphicsItem | None:
    """The node, edge or note an item under the pointer belongs to (ports belong to
    nodes, text to notes)."""
    while item is not None and not isinstance(item, NodeItem | EdgeItem | NoteItem):
        item = item.parentItem()
    return item


class CanvasMenus(QObject):
    """Builds the menu for what lies under a point, and runs its entries."""

    def __init__(
        self,
        scene: BlueprintScene,
        quick_add: QuickAdd,
        parent: QWidget,
        fit: Callable[[], None],
        notes: NoteLayer,
    ) -> None:
        super().__init__(parent)
        self._notes = notes
        self._scene = scene
        self._quick_add = quick_add
        self._parent = parent
        self._fit = fit
        #: Window actions offered on a node's menu, after the editing entries.
        self.node_extras: list[QAction] = []
        #: The menu shown last (tests find and trigger its entries).
        self.last: QMenu | None = None
        #: Opens the node editor for "Open editor…" (a double-click may do otherwise).
        self.open_editor: Callable[[str], object] = self._scene.node_activated.emit
        #: The rename dialog while it is open.
        self.rename_dialog: QInputDialog | None = None

    def item_at(self, at: QPointF) -> QGraphicsItem | None:
        """The node or edge under scene point ``at``, topmost first; None for canvas."""
        for item in self._scene.items(
            at, Qt.ItemSelectionMode.IntersectsItemShape, Qt.SortOrder.DescendingOrder
        ):
            owner = _owner(item)
            if owner is not None:
                return owner
        return None

    def menu_at(self, at: QPointF, screen_pos: QPoint) -> QMenu:
        """The menu for scene point ``at`` (selecting what was clicked, as editors do)."""
        item = self.item_at(at)
        menu = QMenu(self._parent)
        if isinstance(item, NodeItem):
            if not item.isSelected():
                self._scene.select_nodes([item.node_id])
            self._fill_node(menu, item.node_id)
        elif isinstance(item, EdgeItem):
            self._scene.clearSelection()
            item.setSelected(True)
            menu.addAction("Delete connection", self._scene.delete_selection)
        elif isinstance(item, NoteItem):
            self._scene.clearSelection()
            item.setSelected(True)
            menu.addAction("Edit note", item.edit)
            menu.addAction("Delete note", self._notes.delete_selected)
        else:
            self._fill_canvas(menu, at, screen_pos)
        self.last = menu
        return menu

    def _fill_node(self, menu: QMenu, node_id: str) -> None:
        chosen = self._scene.selected_node_ids()
        many = len(chosen) > 1
        menu.addAction("Open editor…", lambda: self.open_editor(node_id))
        rename = menu.addAction("Rename…", lambda: self.ask_rename(node_id))
        rename.setEnabled(not many)
        count = f" {len(chosen)} nodes" if many else ""
        menu.addAction(f"Duplicate{count}", self.duplicate)
        menu.addAction(f"Delete{count}", self._scene.delete_selection)
        if self.node_extras:
            menu.addSeparator()
            menu.addActions(self.node_extras)

    def _fill_canvas(self, menu: QMenu, at: QPointF, screen_pos: QPoint) -> None:
        menu.addAction("Add node…", lambda: self._quick_add.open_at(at, screen_pos))
        menu.addAction("Add note", lambda: self._notes.add(at))
        menu.addSeparator()
        menu.addAction("Select all", self._select_all)
        menu.addAction("Auto-layout", self._scene.document.auto_layout)
        menu.addAction("Fit to view", self._fit)

    def _select_all(self) -> None:
        self._scene.select_nodes(self._scene.document.model.node_ids())

    def duplicate(self) -> list[str]:
        """Copies of the selected nodes (and the edges among them), offset, selected."""
        chosen = self._scene.selected_node_ids()
        if not chosen:
            return []
        return self._scene.paste(self._scene.copy_selection())

    def ask_rename(self, node_id: str) -> QInputDialog:
        """A small dialog for the node's new id; a refused id says why (status bar)."""
        dialog = QInputDialog(self._parent)
        dialog.setWindowTitle("Rename node")
        dialog.setLabelText(f"New id for {node_id} (references to it are updated):")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setTextValue(node_id)
        dialog.textValueSelected.connect(lambda text: self.rename(node_id, text.strip()))
        dialog.finished.connect(lambda _code: self._forget_dialog(dialog))
        self.rename_dialog = dialog
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog: QInputDialog) -> None:
        if self.rename_dialog is dialog:
            self.rename_dialog = None
        dialog.deleteLater()

    def rename(self, node_id: str, new_id: str) -> bool:
        try:
            self._scene.document.rename_node(node_id, new_id)
        except EditError as exc:
            self._scene.edit_refused.emit(f"Can't rename {node_id}: {exc}")
            return False
        self._scene.select_nodes([new_id])
        return True
