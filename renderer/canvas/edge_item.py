"""Edges on the canvas: a bezier from an output port to a node's input, with an arrow.

Three kinds share one painter: a real edge (selectable, deletable), the implicit
link of a sequential blueprint (dashed, not selectable: it exists only as list
order), and the rubber edge that follows the mouse while the user drags from a
port. An edge whose port the source no longer has is drawn dashed in the error
colour until it is fixed or removed.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.blueprint import EdgeSpec
from renderer.canvas.node_item import NodeItem
from renderer.canvas.theme import LIGHT, CanvasTheme

_ARROW = 7.0


def bezier(start: QPointF, end: QPointF) -> QPainterPath:
    """A left-to-right S curve; it bulges outwards when the target is behind the source."""
    dx = max(48.0, abs(end.x() - start.x()) * 0.5)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(dx, 0), end - QPointF(dx + _ARROW, 0), end - QPointF(_ARROW, 0))
    return path


class _CurveItem(QGraphicsItem):
    """A bezier between two scene points, painted with an arrow head at the end."""

    def __init__(self, theme: CanvasTheme) -> None:
        super().__init__()
        self.theme = theme
        self._start = QPointF()
        self._end = QPointF()
        self._path = QPainterPath()
        self.setZValue(0.0)

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        if (start, end) == (self._start, self._end):
            return
        self.prepareGeometryChange()
        self._start, self._end = start, end
        self._path = bezier(start, end)

    def set_theme(self, theme: CanvasTheme) -> None:
        self.theme = theme
        self.update()

    @property
    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-10, -10, 10, 10)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12.0)
        return stroker.createStroke(self._path)

    def _pen(self) -> QPen:
        return QPen(self.theme.color("edge"), 2.0)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        pen = self._pen()
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        tip = self._end
        head = QPolygonF(
            [
                tip,
                tip + QPointF(-_ARROW - 2, -_ARROW * 0.6),
                tip + QPointF(-_ARROW - 2, _ARROW * 0.6),
            ]
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pen.color())
        painter.drawPolygon(head)


class EdgeItem(_CurveItem):
    """A real edge of the blueprint, mirroring one :class:`EdgeSpec` of the model."""

    def __init__(
        self, edge: EdgeSpec, source: NodeItem, target: NodeItem, theme: CanvasTheme = LIGHT
    ) -> None:
        super().__init__(theme)
        self.edge = edge
        self.source = source
        self.target = target
        self.valid = True
        #: Items that passed along this wire in the shown run (None: not shown).
        self.count: int | None = None
        self._count_label: QGraphicsSimpleTextItem | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.adjust()

    def set_edge(self, edge: EdgeSpec, source: NodeItem, target: NodeItem) -> None:
        self.edge, self.source, self.target = edge, source, target
        self.adjust()

    def adjust(self) -> None:
        """Follow the ends (after a node moved or its ports changed)."""
        start, self.valid = self.source.output_anchor(self.edge.source_port)
        port = f" (port {self.edge.source_port})" if self.edge.source_port else ""
        problem = "" if self.valid else f" — {self.edge.source!r} has no such port"
        self.setToolTip(f"{self.edge.source}{port} → {self.edge.target}{problem}")
        self.set_ends(start, self.target.input_anchor())
        self._place_count()
        self.update()

    def set_count(self, items: int | None) -> None:
        """Show how many items passed along the wire in the shown run (None: nothing)."""
        self.count = items
        if items is None:
            if self._count_label is not None:
                self._count_label.hide()
            return
        if self._count_label is None:
            self._count_label = QGraphicsSimpleTextItem(self)
            self._count_label.setBrush(self.theme.color("edge"))
        self._count_label.setText(f"{items:,} item{'' if items == 1 else 's'}")
        self._count_label.show()
        self._place_count()

    @property
    def count_text(self) -> str | None:
        """The count shown on the wire, if any (for tests)."""
        label = self._count_label
        return label.text() if label is not None and label.isVisible() else None

    def _place_count(self) -> None:
        label = self._count_label
        if label is not None:
            middle, size = self.path.pointAtPercent(0.5), label.boundingRect()
            label.setPos(middle - QPointF(size.width() / 2, size.height() + 2))

    def _pen(self) -> QPen:
        if self.isSelected():
            return QPen(self.theme.color("accent"), 2.6)
        if not self.valid:
            return QPen(self.theme.color("edge_invalid"), 2.0, Qt.PenStyle.DashLine)
        return QPen(self.theme.color("edge"), 2.0)


class ImplicitEdgeItem(_CurveItem):
    """The run order of a sequential blueprint (no ``edges``): shown, not editable."""

    def __init__(self, source: NodeItem, target: NodeItem, theme: CanvasTheme = LIGHT) -> None:
        super().__init__(theme)
        self.source, self.target = source, target
        self.setToolTip("Runs next (sequential blueprint: drawing an edge turns this into one)")
        self.adjust()

    def adjust(self) -> None:
        start, _ = self.source.output_anchor(None)
        self.set_ends(start, self.target.input_anchor())

    def _pen(self) -> QPen:
        return QPen(self.theme.color("implicit_edge"), 1.8, Qt.PenStyle.DashLine)


class RubberEdgeItem(_CurveItem):
    """The edge being drawn: from the pressed port to the mouse."""

    def __init__(self, start: QPointF, theme: CanvasTheme = LIGHT) -> None:
        super().__init__(theme)
        self.setZValue(5.0)
        self.set_ends(start, start)
        self.accepting = False

    def _pen(self) -> QPen:
        colour = self.theme.color("accent") if self.accepting else QColor(self.theme.edge)
        return QPen(colour, 2.0, Qt.PenStyle.DashLine)
