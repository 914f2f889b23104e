"""A node card zoomed far out: no text, a plain card in its type's colour.

Zoomed far out, text is unreadable and antialiased rounded shapes are what cost:
a 1,000-node graph once took 50 ms a frame drawn in detail. This is what
:class:`~renderer.canvas.node_item.NodeItem` paints below its detail scale.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPen

from renderer.canvas.geometry import NODE_WIDTH

#: Height of the coloured strip, and of the state band, on a far card.
STRIP, BAND = 8.0, 10.0


def paint_far(
    painter: QPainter,
    body: QRectF,
    border: QPen,
    fill: QColor,
    colour: QColor,
    state: QColor | None,
) -> None:
    """The card ``body`` filled and bordered, its type ``colour`` on top, state below."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setPen(border)
    painter.setBrush(fill)
    painter.drawRect(body)
    painter.fillRect(QRectF(0, 0, NODE_WIDTH, STRIP), colour)
    if state is not None:
        painter.fillRect(QRectF(0, body.height() - BAND, NODE_WIDTH, BAND), state)
