"""The canvas view: zoom, pan, fit, rubber-band selection and Delete.

Navigation follows the node editors people already know (n8n, Node-RED, Blender):
the wheel zooms around the mouse, the middle button or Space+drag pans, a drag on
empty canvas selects with a rubber band, Delete/Backspace removes the selection as
one undo step, and the usual keys copy, cut and paste nodes as blueprint JSON.
Everything that edits goes through the scene and the document.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QCursor,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsTextItem, QGraphicsView, QWidget

from app.errors import ConductorError
from renderer.canvas.context_menus import CanvasMenus
from renderer.canvas.minimap import Minimap
from renderer.canvas.notes import NoteLayer
from renderer.canvas.quick_add import QuickAdd, WireEnd
from renderer.canvas.scene import BlueprintScene
from renderer.canvas.zoom_controls import ZoomControls

#: What an empty canvas says.
EMPTY_HINT = (
    "Press Tab or double-click to add a node,\n"
    "or drag one from the Nodes palette. Right-click for more."
)
MIN_ZOOM = 0.2
MAX_ZOOM = 3.0
_STEP = 1.15


class CanvasView(QGraphicsView):
    """A view on a :class:`BlueprintScene` with editor-style navigation.

    It also owns what is reached from the canvas itself: quick add (Tab, a
    double-click or a wire dropped on empty canvas), the right-click menus and the
    zoom buttons in the corner.
    """

    #: The zoom changed (wheel, keys, buttons, fit): the new scale.
    zoom_changed = Signal(float)

    def __init__(self, scene: BlueprintScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self._scene = scene
        self._pan_from: QPoint | None = None
        self._space = False
        #: Whether the last paint showed the empty-canvas hint; when that flips, the
        #: whole viewport is repainted (a partial update once left fragments of it
        #: behind the first nodes).
        self._hint_shown = True
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.quick_add = QuickAdd(scene, self)
        self.notes = NoteLayer(scene)
        self.menus = CanvasMenus(scene, self.quick_add, self, self.fit_to_view, self.notes)
        self.zoom_controls = ZoomControls(
            self,
            zoom_in=self.zoom_in,
            zoom_out=self.zoom_out,
            reset=lambda: self.set_zoom(1.0),
            fit=self.fit_to_view,
        )
        self.zoom_changed.connect(self.zoom_controls.show_zoom)
        self.minimap = Minimap(self)
        scene.quick_add_requested.connect(self._quick_add_from_scene)

    @property
    def blueprint_scene(self) -> BlueprintScene:
        return self._scene

    @property
    def zoom(self) -> float:
        """The current scale (1.0: one scene unit per pixel)."""
        return self.transform().m11()

    def set_zoom(self, zoom: float) -> None:
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        factor = zoom / self.zoom
        self.scale(factor, factor)
        self.zoom_changed.emit(self.zoom)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * _STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / _STEP)

    def fit_to_view(self, max_zoom: float = 1.25) -> None:
        """Show every node and sticky note, with a margin; never zoom in past ``max_zoom``.

        (Notes count: Fit once left a note half hidden under the minimap.)
        """
        bounds = QRectF()
        for item in [*self._scene.node_items(), *self.notes.items()]:
            bounds = bounds.united(item.sceneBoundingRect())
        if bounds.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            self.zoom_changed.emit(self.zoom)
            return
        self.fitInView(bounds.adjusted(-48, -48, 48, 48), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > max_zoom:
            self.set_zoom(max_zoom)
        self.centerOn(bounds.center())
        self.zoom_changed.emit(self.zoom)

    # -- quick add and menus ---------------------------------------------------------

    def _pointer(self) -> tuple[QPointF, QPoint]:
        """The scene point and screen point under the mouse (the centre when outside)."""
        local = self.viewport().mapFromGlobal(QCursor.pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        return self.mapToScene(local), self.viewport().mapToGlobal(local)

    def open_quick_add(self) -> None:
        """The node picker at the mouse (Tab, or the canvas menu's "Add node…")."""
        at, screen = self._pointer()
        self.quick_add.open_at(at, screen)

    def _quick_add_from_scene(self, at: QPointF, source: object) -> None:
        wire = WireEnd(*source) if isinstance(source, tuple) else None
        screen = self.viewport().mapToGlobal(self.mapFromScene(at))
        self.quick_add.open_at(at, screen, wire)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.menus.menu_at(self.mapToScene(event.pos()), event.globalPos())
        menu.popup(event.globalPos())
        event.accept()

    def event(self, event: QEvent) -> bool:
        """Tab opens quick add (Qt would otherwise move the keyboard focus)."""
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and not self._typing()
        ):
            self.open_quick_add()
            return True
        return super().event(event)

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """On an empty canvas, say how to start (a newcomer once faced a blank grid)."""
        show = not self._scene.node_items()
        if show != self._hint_shown:
            # Smart updates repaint only dirty rects: without this, pieces of the hint
            # stayed on screen around the first node added (seen under Xvfb).
            self._hint_shown = show
            self.viewport().update()
        if not show:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(self.palette().placeholderText().color())
        area = QRectF(self.viewport().rect())
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter, EMPTY_HINT)
        painter.restore()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.zoom_controls.place(self.width(), self.height())
        self.minimap.place(self.width(), self.height())

    # -- events --------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (_STEP**steps))
        event.accept()

    def _start_pan(self, event: QMouseEvent) -> None:
        self._pan_from = event.position().toPoint()
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        ):
            self._start_pan(event)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(
                Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor
            )
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _typing(self) -> bool:
        """True while a text on the canvas (a sticky note) has the keyboard."""
        item = self._scene.focusItem()
        return isinstance(item, QGraphicsTextItem) and bool(
            item.textInteractionFlags() & Qt.TextInteractionFlag.TextEditable
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._typing():
            super().keyPressEvent(event)  # keys are text (space, Delete, Tab…)
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.notes.delete_selected()
            if self._scene.selected_node_ids() or self._scene.selected_edge_indices():
                self._scene.delete_selection()
            event.accept()
            return
        if self._clipboard_key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def _clipboard_key(self, event: QKeyEvent) -> bool:
        """Copy, cut, paste and select-all on the canvas (a window's actions take precedence)."""
        clipboard = QGuiApplication.clipboard()
        if event.matches(QKeySequence.StandardKey.SelectAll):
            for item in self._scene.node_items():
                item.setSelected(True)
        elif event.matches(QKeySequence.StandardKey.Copy):
            if self._scene.selected_node_ids():
                clipboard.setText(self._scene.copy_selection())
        elif event.matches(QKeySequence.StandardKey.Cut):
            if self._scene.selected_node_ids():
                clipboard.setText(self._scene.copy_selection())
                self._scene.delete_selection()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste(clipboard.text())
        else:
            return False
        return True

    def paste(self, text: str) -> list[str]:
        """Paste blueprint text at the mouse (or offset from the copies); refusals are emitted.

        Returns the new node ids; text that holds no blueprint is reported through the
        scene's ``edit_refused`` signal instead of raising into the event loop.
        """
        inside = self.viewport().rect().contains(self.viewport().mapFromGlobal(QCursor.pos()))
        at = self.mapToScene(self.viewport().mapFromGlobal(QCursor.pos())) if inside else None
        try:
            return self._scene.paste(text, at)
        except ConductorError as exc:
            self._scene.edit_refused.emit(str(exc))
            return []

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)
