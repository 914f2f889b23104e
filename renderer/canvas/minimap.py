"""A minimap in the canvas corner: the whole graph small, the visible part framed.

Click or drag on it to move the view there. The graph is rendered into a pixmap
only when the blueprint's shape changes (nodes added, moved, removed; edges), a
moment after the change — never on every repaint — so panning a 1,000-node graph
repaints a picture and a rectangle, not the graph a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from renderer.canvas.view import CanvasView

#: The minimap's size, in pixels.
WIDTH, HEIGHT = 200, 130
#: Quiet time after an edit before the picture is drawn again, ms.
REDRAW_DELAY_MS = 200


class Minimap(QWidget):
    """The overview of ``view``'s scene (see the module docstring)."""

    def __init__(self, view: CanvasView) -> None:
        super().__init__(view)
        self._view = view
        self.setFixedSize(WIDTH, HEIGHT)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._picture = QPixmap()
        self._source = QRectF()
        #: How many times the picture was drawn (tests check it is not per repaint).
        self.renders = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_DELAY_MS)
        self._timer.timeout.connect(self.redraw)
        document = view.blueprint_scene.document
        for signal in (
            document.reset,
            document.node_inserted,
            document.node_removed,
            document.node_moved,
            document.edge_inserted,
            document.edge_removed,
            document.node_types_changed,
        ):
            signal.connect(self._timer.start)
        view.zoom_changed.connect(self.update)
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.verticalScrollBar().valueChanged.connect(self.update)
        self._timer.start()
        self._wanted = True
        #: Nothing to map yet (an empty canvas shows no empty box).
        self._empty = True

    def set_wanted(self, wanted: bool) -> None:
        """The user's choice (View → Minimap); shown only where it fits, too."""
        self._wanted = wanted
        self.place(self._view.width(), self._view.height())

    def place(self, width: int, height: int, margin: int = 10) -> None:
        """Sit in the bottom-left corner; hidden when the canvas is too small for it
        (it must never cover more than a fraction of what it is a map of)."""
        self.move(margin, height - self.height() - margin)
        fits = width >= 3 * WIDTH and height >= 3 * HEIGHT
        self.setVisible(self._wanted and fits and not self._empty)

    def redraw(self) -> None:
        """Draw the graph into the picture (the scene's nodes, fitted, with a margin)."""
        scene = self._view.blueprint_scene
        bounds = QRectF()
        for item in scene.node_items():
            bounds = bounds.united(item.sceneBoundingRect())
        self._picture = QPixmap(self.size() * self.devicePixelRatioF())
        self._picture.setDevicePixelRatio(self.devicePixelRatioF())
        self._picture.fill(scene.theme.color("background"))
        if bounds.isEmpty():
            self._source = QRectF()
        else:
            self._source = _fitted(bounds.adjusted(-60, -60, 60, 60), self.width(), self.height())
            painter = QPainter(self._picture)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            scene.render(
                painter,
                QRectF(0, 0, self.width(), self.height()),
                self._source,
                Qt.AspectRatioMode.IgnoreAspectRatio,
            )
            painter.end()
        self.renders += 1
        self._empty = bounds.isEmpty()
        self.place(self._view.width(), self._view.height())
        self.update()

    def visible_rect(self) -> QRectF:
        """The part of the scene the view shows, in minimap pixels."""
        if self._source.isEmpty():
            return QRectF()
        shown = self._view.mapToScene(self._view.viewport().rect()).boundingRect()
        return QRectF(self._to_map(shown.topLeft()), self._to_map(shown.bottomRight()))

    def _to_map(self, point: QPointF) -> QPointF:
        source = self._source
        return QPointF(
            (point.x() - source.left()) * self.width() / source.width(),
            (point.y() - source.top()) * self.height() / source.height(),
        )

    def to_scene(self, point: QPointF) -> QPointF:
        """A minimap pixel as a scene point."""
        source = self._source
        return QPointF(
            source.left() + point.x() * source.width() / self.width(),
            source.top() + point.y() * source.height() / self.height(),
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._picture)
        frame = self._view.blueprint_scene.theme.color("grid")
        painter.setPen(QPen(frame, 1))
        painter.drawRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1))
        shown = self.visible_rect().intersected(QRectF(0, 0, self.width(), self.height()))
        if not shown.isEmpty():
            accent = QColor(self.palette().highlight().color())
            painter.setPen(QPen(accent, 1.5))
            fill = QColor(accent)
            fill.setAlpha(40)
            painter.setBrush(fill)
            painter.drawRect(shown)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._move_view(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_view(event)

    def _move_view(self, event: QMouseEvent) -> None:
        if not self._source.isEmpty():
            self._view.centerOn(self.to_scene(event.position()))
        event.accept()


def _fitted(bounds: QRectF, width: int, height: int) -> QRectF:
    """``bounds`` grown to the minimap's aspect ratio, centred (so nothing is stretched)."""
    aspect = width / height
    w, h = bounds.width(), bounds.height()
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    centre = bounds.center()
    return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)
