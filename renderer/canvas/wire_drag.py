"""Drawing a wire: from an output port to a node, with the reason shown if refused.

The scene owns one :class:`WireDrag` and hands it the mouse while a wire is being
drawn. While the pointer is over a node the wire cannot reach (a cycle, an edge that
exists, a port that does not), the preview stays dashed grey and the reason stands
beside the cursor, so a refused wire is never silent; on release the scene tries the
edit, which refuses with the same words, and the words stay where the wire was
dropped for a few seconds (:class:`DropNote`), not only in the status bar.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.blueprint import EdgeSpec
from renderer.canvas.edge_item import RubberEdgeItem
from renderer.canvas.node_item import NodeItem
from renderer.canvas.port_item import PortItem
from renderer.canvas.theme import CanvasTheme
from renderer.editor.errors import EditError
from renderer.editor.model import EditorModel

#: How long a refusal stays where the wire was dropped.
NOTE_MS = 6000


class NoteItem(QGraphicsSimpleTextItem):
    """A refusal's text on a card of its own: drawn bare, it ran over the nodes'
    text and could not be read."""

    def __init__(self, theme: CanvasTheme) -> None:
        super().__init__()
        self._theme = theme
        self.setZValue(6.0)
        self.setBrush(theme.color("problem"))

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-6, -4, 6, 4)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self._theme.color("problem"), 1.0))
        painter.setBrush(self._theme.color("node_fill"))
        painter.drawRoundedRect(super().boundingRect().adjusted(-5, -3, 5, 3), 4, 4)
        painter.restore()
        super().paint(painter, option, widget)  # type: ignore[arg-type]  # Qt takes None


class DropNote:
    """Why the last dropped wire was refused, beside where it was dropped, for
    :data:`NOTE_MS` (the status bar says it too, but far from the user's eyes)."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self._note: QGraphicsSimpleTextItem | None = None

    def _alive(self) -> QGraphicsSimpleTextItem | None:
        note = self._note
        if note is None or not shiboken6.isValid(note) or note.scene() is not self._scene:
            return None
        return note

    def show(self, text: str, at: QPointF, theme: CanvasTheme) -> None:
        if (old := self._alive()) is not None:
            self._scene.removeItem(old)
        note = NoteItem(theme)
        note.setText(text)
        note.setPos(at + QPointF(14, 10))
        self._scene.addItem(note)
        self._note = note
        QTimer.singleShot(NOTE_MS, lambda: self._drop(note))

    def _drop(self, note: QGraphicsSimpleTextItem) -> None:
        if note is self._alive():
            self._scene.removeItem(note)

    @property
    def text(self) -> str | None:
        note = self._alive()
        return note.text() if note is not None else None


class WireDrag:
    """One wire being drawn from ``port``; :meth:`finish` removes its items."""

    def __init__(
        self, scene: QGraphicsScene, port: PortItem, model: EditorModel, theme: CanvasTheme
    ) -> None:
        self._scene = scene
        self.port = port
        self._model = model
        self._theme = theme
        self.rubber = RubberEdgeItem(port.scenePos(), theme)
        scene.addItem(self.rubber)
        self._note: QGraphicsSimpleTextItem | None = None

    def move(self, target: NodeItem | None, at: QPointF) -> None:
        reachable = target is not None and target is not self.port.node
        reason = self.refusal(target) if reachable and target is not None else None
        self.rubber.accepting = reachable and reason is None
        end = target.input_anchor() if self.rubber.accepting and target else at
        self.rubber.set_ends(self.port.scenePos(), end)
        self._show(reason, at)
        self.rubber.update()

    def refusal(self, target: NodeItem) -> str | None:
        """Why a wire from the port to ``target`` would be refused, or None."""
        edge = EdgeSpec(
            source=self.port.node.node_id, target=target.node_id, source_port=self.port.name
        )
        try:
            self._model.check_edge(edge)
        except EditError as exc:
            return str(exc)
        return None

    def _show(self, reason: str | None, at: QPointF) -> None:
        if reason is None:
            if self._note is not None:
                self._note.hide()
            return
        if self._note is None:
            self._note = NoteItem(self._theme)
            self._scene.addItem(self._note)
        self._note.setText(f"Can't connect: {reason}")
        self._note.setPos(at + QPointF(14, 10))
        self._note.show()

    @property
    def note(self) -> str | None:
        """The refusal shown beside the cursor, if any (for tests and accessibility)."""
        return self._note.text() if self._note is not None and self._note.isVisible() else None

    def finish(self) -> None:
        for item in (self.rubber, self._note):
            if item is not None and item.scene() is self._scene:
                self._scene.removeItem(item)
