"""The canvas scene: mirrors an :class:`EditorDocument`, turns gestures into commands.

The scene never writes the model. It builds items from the model on ``reset`` and
keeps them in step through the document's signals (one item per node, one per
edge, edges in model order so an index names the same edge in both). A user's
gesture — dragging nodes, drawing an edge from a port, dropping a palette entry,
pressing Delete — becomes a call on the document, which pushes a command; the
command changes the model, and the model's fact comes back here as a signal.

The run monitor drives the node badges through :meth:`set_node_state` and friends;
that state is view-only and never reaches the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import shiboken6
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSceneDragDropEvent,
    QGraphicsSceneMouseEvent,
)

from app.blueprint import EdgeSpec
from renderer.canvas.edge_item import EdgeItem, ImplicitEdgeItem
from renderer.canvas.geometry import GRID, title_at
from renderer.canvas.grid import paint_dot_grid
from renderer.canvas.node_item import NodeItem
from renderer.canvas.port_item import PortItem, PortKind
from renderer.canvas.theme import LIGHT, CanvasTheme
from renderer.canvas.wire_drag import DropNote, WireDrag
from renderer.editor.document import EditorDocument
from renderer.editor.errors import EditError

#: MIME type of a node type dragged from the palette (the payload is the type name).
NODE_TYPE_MIME = "application/x-conductor-node-type"


class BlueprintScene(QGraphicsScene):
    """The canvas for one document (see the module docstring)."""

    #: The selected nodes changed: their ids, in blueprint order.
    node_selection_changed = Signal(list)
    #: A node was double-clicked: its id (the window may focus the inspector).
    node_activated = Signal(str)
    #: A connection the user drew was refused: the reason, for the status bar.
    connection_refused = Signal(str)
    #: A gesture's edit was refused (a rare race): the message.
    edit_refused = Signal(str)
    #: A wire was dropped on empty canvas, or empty canvas was double-clicked: the
    #: scene point and the wire's start (``(node_id, port)``) or None. Quick add.
    quick_add_requested = Signal(QPointF, object)

    def __init__(self, document: EditorDocument, theme: CanvasTheme = LIGHT) -> None:
        super().__init__()
        self.document = document
        self.theme = theme
        self._nodes: dict[str, NodeItem] = {}
        self._edges: list[EdgeItem] = []
        self._implicit: list[ImplicitEdgeItem] = []
        self._syncing = False
        self._drag_serial = 0
        #: The wire being drawn, while the mouse draws one.
        self._wire: WireDrag | None = None
        #: Why the last dropped wire was refused, shown where it was dropped (for a while).
        self.drop_note = DropNote(self)
        self.setSceneRect(-5000, -5000, 10000, 10000)
        self.setBackgroundBrush(theme.color("background"))
        document.reset.connect(self._rebuild)
        document.node_types_changed.connect(self._rebuild)
        document.node_inserted.connect(self._on_node_inserted)
        document.node_removed.connect(self._on_node_removed)
        document.node_moved.connect(self._on_node_moved)
        document.node_changed.connect(self._on_node_changed)
        document.node_renamed.connect(self._on_node_renamed)
        document.edge_inserted.connect(self._on_edge_inserted)
        document.edge_removed.connect(self._on_edge_removed)
        document.edge_changed.connect(self._on_edge_changed)
        document.problems_changed.connect(self._show_problems)
        self.selectionChanged.connect(self._relay_selection)
        self._rebuild()

    def _relay_selection(self) -> None:
        if shiboken6.isValid(self):  # Qt clears the selection while destroying the scene
            self.node_selection_changed.emit(self.selected_node_ids())

    # -- reading -----------------------------------------------------------------

    def node_item(self, node_id: str) -> NodeItem | None:
        return self._nodes.get(node_id)

    def node_items(self) -> list[NodeItem]:
        """Node items in blueprint order."""
        return [self._nodes[n] for n in self.document.model.node_ids() if n in self._nodes]

    def edge_items(self) -> list[EdgeItem]:
        """Edge items in model order (``edge_items()[k]`` shows ``model.edges[k]``)."""
        return list(self._edges)

    def implicit_edge_items(self) -> list[ImplicitEdgeItem]:
        return list(self._implicit)

    def selected_node_ids(self) -> list[str]:
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.document.model.node_ids() if n in chosen]

    def selected_edge_indices(self) -> list[int]:
        return [k for k, item in enumerate(self._edges) if item.isSelected()]

    def select_nodes(self, node_ids: Iterable[str]) -> None:
        wanted = set(node_ids)
        self.clearSelection()
        for node_id, item in self._nodes.items():
            item.setSelected(node_id in wanted)

    # -- user intents → document ---------------------------------------------------

    def add_node_at(self, type_name: str, pos: QPointF) -> str | None:
        """Add a node whose title sits under ``pos`` (a drop or a double-click)."""
        try:
            node_id = self.document.add_node(type_name, title_at(pos.x(), pos.y()))
        except EditError as exc:
            self.edit_refused.emit(str(exc))
            return None
        self.select_nodes([node_id])
        return node_id

    def connect_ports(
        self, source: str, target: str, source_port: str | None = None, at: QPointF | None = None
    ) -> bool:
        """Connect as a drag would; a refusal is emitted and shown beside ``at``."""
        try:
            self.document.connect_nodes(source, target, source_port)
        except EditError as exc:
            if at is not None:
                self.drop_note.show(f"Can't connect: {exc}", at, self.theme)
            self.connection_refused.emit(str(exc))
            return False
        return True

    def delete_selection(self) -> None:
        """Remove the selected nodes and edges as one undo step."""
        self.document.remove_selection(self.selected_node_ids(), self.selected_edge_indices())

    def copy_selection(self) -> str:
        return self.document.copy(self.selected_node_ids())

    def paste(self, text: str, at: QPointF | None = None) -> list[str]:
        """Paste blueprint text (one undo step) and select what was pasted."""
        node_ids = self.document.paste(text, (at.x(), at.y()) if at is not None else None)
        self.select_nodes(node_ids)
        return node_ids

    # -- run monitor ---------------------------------------------------------------

    def set_node_state(
        self, node_id: str, status: str | None, attempts: int = 0, detail: str = ""
    ) -> None:
        """Show a node's run state (see :meth:`NodeItem.set_state`); unknown ids are ignored."""
        if (item := self._nodes.get(node_id)) is not None:
            item.set_state(status, attempts, detail)

    def clear_states(self) -> None:
        for item in self._nodes.values():
            item.set_state(None)

    def set_dirty_nodes(self, node_ids: Iterable[str]) -> None:
        """Mark exactly these nodes as changed since their results were computed."""
        dirty = set(node_ids)
        for node_id, item in self._nodes.items():
            item.set_dirty(node_id in dirty)

    def set_will_run(self, node_ids: Iterable[str]) -> None:
        """Highlight exactly these nodes as the ones the next run will execute."""
        chosen = set(node_ids)
        for node_id, item in self._nodes.items():
            item.set_will_run(node_id in chosen)

    def set_theme(self, theme: CanvasTheme) -> None:
        self.theme = theme
        self.setBackgroundBrush(theme.color("background"))
        for node in self._nodes.values():
            node.set_theme(theme)
        for edge in [*self._edges, *self._implicit]:
            edge.set_theme(theme)
        self.update()

    # -- model → items -------------------------------------------------------------

    def _make_node(self, node_id: str) -> NodeItem:
        model = self.document.model
        spec = model.node(node_id)
        item = NodeItem(
            spec,
            type_title=model.catalog.title(spec.type),
            category=model.catalog.category(spec.type),
            ports=model.output_ports(node_id),
            theme=self.theme,
        )
        item.setPos(*(model.position(node_id) or (0.0, 0.0)))  # before moves are watched
        item.xChanged.connect(lambda: self._item_moved(item))
        item.yChanged.connect(lambda: self._item_moved(item))
        self.addItem(item)
        self._nodes[node_id] = item
        return item

    def _make_edge(self, edge: EdgeSpec) -> EdgeItem:
        item = EdgeItem(edge, self._nodes[edge.source], self._nodes[edge.target], self.theme)
        self.addItem(item)
        return item

    def _rebuild(self) -> None:
        self._end_wire()
        for item in self._nodes.values():
            item.dispose()
        self.clear()
        self._nodes, self._edges, self._implicit = {}, [], []
        for node_id in self.document.model.node_ids():
            self._make_node(node_id)
        self._edges = [self._make_edge(e) for e in self.document.model.edges]
        self._refresh_implicit()
        self._show_problems()

    def _refresh_implicit(self) -> None:
        for item in self._implicit:
            self.removeItem(item)
        self._implicit = []
        if self.document.model.is_sequential:
            for source, target in self.document.model.edge_pairs():
                item = ImplicitEdgeItem(self._nodes[source], self._nodes[target], self.theme)
                self.addItem(item)
                self._implicit.append(item)

    def _on_node_inserted(self, index: int, node_id: str) -> None:
        self._make_node(node_id)
        self._refresh_implicit()

    def _on_node_removed(self, index: int, node_id: str) -> None:
        item = self._nodes.pop(node_id)
        item.dispose()
        self.removeItem(item)
        self._refresh_implicit()

    def _on_node_moved(self, node_id: str, pos: object) -> None:
        item = self._nodes[node_id]
        x, y = cast("tuple[float, float]", pos) if pos is not None else (0.0, 0.0)
        if (item.x(), item.y()) != (x, y):
            self._syncing = True
            item.setPos(x, y)
            self._syncing = False
        self._adjust_edges(node_id)

    def _on_node_changed(self, index: int, node_id: str) -> None:
        model, item = self.document.model, self._nodes[node_id]
        spec = model.node(node_id)
        item.set_spec(
            spec,
            type_title=model.catalog.title(spec.type),
            category=model.catalog.category(spec.type),
            ports=model.output_ports(node_id),
        )
        self._adjust_edges(node_id)

    def _on_node_renamed(self, index: int, old_id: str, new_id: str) -> None:
        self._nodes[new_id] = self._nodes.pop(old_id)
        self._on_node_changed(index, new_id)

    def _on_edge_inserted(self, index: int, edge: object) -> None:
        self._edges.insert(index, self._make_edge(cast("EdgeSpec", edge)))
        self._refresh_implicit()

    def _on_edge_removed(self, index: int, edge: object) -> None:
        self.removeItem(self._edges.pop(index))
        self._refresh_implicit()

    def _on_edge_changed(self, index: int, edge: object) -> None:
        spec = cast("EdgeSpec", edge)
        self._edges[index].set_edge(spec, self._nodes[spec.source], self._nodes[spec.target])

    def _adjust_edges(self, node_id: str) -> None:
        for item in self._edges:
            if node_id in (item.edge.source, item.edge.target):
                item.adjust()
        for implicit in self._implicit:
            if node_id in (implicit.source.node_id, implicit.target.node_id):
                implicit.adjust()

    def _show_problems(self) -> None:
        for node_id, item in self._nodes.items():
            item.set_problem_count(len(self.document.node_problems(node_id)))

    # -- gestures ------------------------------------------------------------------

    def _item_moved(self, item: NodeItem) -> None:
        """Qt moved a node under the mouse: record it (merged per drag) as a command."""
        self._adjust_edges(item.node_id)
        pos = (item.x(), item.y())
        if self._syncing or self.document.model.position(item.node_id) == pos:
            return
        try:
            self.document.move_nodes({item.node_id: pos}, self._drag_serial)
        except EditError as exc:
            self.edit_refused.emit(str(exc))

    def _top_item(self, pos: QPointF) -> QGraphicsItem | None:
        for item in self.items(
            pos,
            Qt.ItemSelectionMode.IntersectsItemShape,
            Qt.SortOrder.DescendingOrder,
            QTransform(),
        ):
            if self._wire is None or item is not self._wire.rubber:
                return item
        return None

    def _node_at(self, pos: QPointF) -> NodeItem | None:
        item = self._top_item(pos)
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        return item

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._drag_serial += 1
        item = self._top_item(event.scenePos())
        if (
            event.button() == Qt.MouseButton.LeftButton
            and isinstance(item, PortItem)
            and item.kind is PortKind.OUTPUT
        ):
            self._wire = WireDrag(self, item, self.document.model, self.theme)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._wire.move(self._node_at(event.scenePos()), event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            port = self._wire.port
            target = self._node_at(event.scenePos())
            self._end_wire()
            if target is not None and target is not port.node:
                self.connect_ports(port.node.node_id, target.node_id, port.name, event.scenePos())
            elif target is None and self._top_item(event.scenePos()) is None:
                self.quick_add_requested.emit(event.scenePos(), (port.node.node_id, port.name))
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        node = self._node_at(event.scenePos())
        if node is not None:
            self.node_activated.emit(node.node_id)
            event.accept()
            return
        if self._top_item(event.scenePos()) is None:
            self.quick_add_requested.emit(event.scenePos(), None)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    @property
    def wire_refusal(self) -> str | None:
        """While a wire is drawn over a node it cannot reach: the reason shown."""
        return self._wire.note if self._wire is not None else None

    def _end_wire(self) -> None:
        if self._wire is not None:
            self._wire.finish()
        self._wire = None

    def dragEnterEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        event.setAccepted(event.mimeData().hasFormat(NODE_TYPE_MIME))

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        data = event.mimeData()
        if not data.hasFormat(NODE_TYPE_MIME):
            event.ignore()
            return
        type_name = bytes(data.data(NODE_TYPE_MIME).data()).decode("utf-8")
        self.add_node_at(type_name, event.scenePos())
        event.acceptProposedAction()

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """A quiet dot grid: a sense of place without noise."""
        super().drawBackground(painter, rect)
        paint_dot_grid(painter, QRectF(rect), self.theme.color("grid"), GRID)
