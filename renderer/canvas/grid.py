"""The canvas background: a dot grid that fades out when zoomed far out."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap

#: Beyond this many dots in view the grid is a grey wash, so it is not drawn.
MAX_DOTS = 60_000
#: Tiles by (colour, step): one dot each, repeated by the brush.
_TILES: dict[tuple[int, float], QBrush] = {}


def _tile(colour: QColor, step: float) -> QBrush:
    """A brush of one ``step``-sized tile with a dot in its corner (cached): the grid is
    one textured fill, not thousands of points built in Python for every repaint."""
    key = (colour.rgba(), step)
    brush = _TILES.get(key)
    if brush is None:
        size = max(2, round(step))
        tile = QPixmap(size, size)
        tile.fill(Qt.GlobalColor.transparent)
        painter = QPainter(tile)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.6))
        for x, y in ((0.0, 0.0), (size, 0.0), (0.0, size), (size, size)):
            painter.drawPoint(QPointF(x, y))
        painter.end()
        brush = _TILES[key] = QBrush(tile)
    return brush


def paint_dot_grid(painter: QPainter, area: QRectF, colour: QColor, step: float) -> None:
    """One dot every ``step`` scene units inside ``area`` (aligned to multiples of it)."""
    if area.width() * area.height() / (step * step) > MAX_DOTS:
        return
    painter.save()
    painter.setBrushOrigin(QPointF(0.0, 0.0))
    painter.fillRect(area, _tile(colour, step))
    painter.restore()
