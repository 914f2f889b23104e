"""Connection points on a node card: the input on the left, outputs on the right.

A port draws itself in its node's category colour and grows under the mouse; the
scene starts a rubber edge when the user presses on an output port.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

if TYPE_CHECKING:
    from renderer.canvas.node_item import NodeItem


class PortKind(StrEnum):
    """Which side of a node a port is on."""

    INPUT = "input"
    OUTPUT = "output"


class PortItem(QGraphicsItem):
    """A connection point; dragging from an output port draws a new edge."""

    RADIUS = 5.5

    def __init__(self, node: NodeItem, kind: PortKind, name: str | None) -> None:
        super().__init__(node)
        self.node = node
        self.kind = kind
        #: The output port's name; None for the input and for an unnamed output.
        self.name = name
        self._hovered = False
        self.setAcceptHoverEvents(True)
        if kind is PortKind.OUTPUT:
            self.setCursor(Qt.CursorShape.CrossCursor)
            self.setToolTip(f"Drag to connect{f' (port {name})' if name else ''}")

    def boundingRect(self) -> QRectF:
        r = self.RADIUS + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = False
        self.update()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        theme = self.node.theme
        colour = self.node.colour
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.8))
        painter.setBrush(colour if self._hovered else theme.color("port_fill"))
        r = self.RADIUS + (1.5 if self._hovered else 0.0)
        painter.drawEllipse(QPointF(0, 0), r, r)
