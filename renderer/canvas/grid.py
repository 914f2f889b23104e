"""The canvas background: a dot grid that fades out when zoomed far out."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen

#: Beyond this many dots in view the grid is a grey wash, so it is not drawn.
MAX_DOTS = 60_000


def paint_dot_grid(painter: QPainter, area: QRectF, colour: QColor, step: float) -> None:
    """One dot every ``step`` scene units inside ``area``."""
    if area.width() * area.height() / (step * step) > MAX_DOTS:
        return
    left = int(area.left() // step) * step
    top = int(area.top() // step) * step
    dots = []
    y = top
    while y < area.bottom():
        x = left
        while x < area.right():
            dots.append(QPointF(x, y))
            x += step
        y += step
    painter.setPen(QPen(colour, 1.6))
    painter.drawPoints(dots)
