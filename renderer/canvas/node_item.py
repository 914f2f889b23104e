"""A node on the canvas: a card with its id, its type, ports and a run-state badge.

The item shows what the scene tells it and nothing else: the spec comes from the
model (through the scene), the state from the run monitor (``set_state``). Moving
it is the one gesture Qt performs on the item itself; the scene turns the move into
a command so the model stays the source of truth.

Layout (in item coordinates, width :data:`WIDTH`): a coloured strip on top, the
title (id, or the node's ``name``) and the type below it; one row per named output
port for branch nodes; the badge row at the foot. The input port sits on the left
edge level with the title, the unnamed output on the right edge at the same height.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QVariantAnimation
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.blueprint import NodeSpec
from renderer.canvas.geometry import (
    BADGE_HEIGHT,
    HEADER_HEIGHT,
    NODE_WIDTH,
    PORT_ROW_HEIGHT,
    node_height,
)
from renderer.canvas.node_far import paint_far
from renderer.canvas.port_item import PortItem, PortKind
from renderer.canvas.state_badge import ANIMATED, BadgeState, paint_state_icon, spinner, state_label
from renderer.canvas.theme import LIGHT, CanvasTheme

WIDTH = NODE_WIDTH
#: Below this scale a node is drawn as a plain card (see :func:`paint_far`).
_FAR = 0.4
_HEADER = HEADER_HEIGHT
_PORT_ROW = PORT_ROW_HEIGHT
_BADGE = BADGE_HEIGHT
_RADIUS = 9.0
_STRIP = 4.0
_PORT_Y = 25.0
_HALO = 6.0
#: Opacity of a disabled node's card.
DISABLED_OPACITY = 0.45


class NodeItem(QGraphicsObject):
    """One node card; see the module docstring for its layout."""

    def __init__(
        self,
        spec: NodeSpec,
        *,
        type_title: str,
        category: str,
        ports: list[str] | None,
        theme: CanvasTheme = LIGHT,
    ) -> None:
        super().__init__()
        self.theme = theme
        self._spec, self._type_title, self._category = spec, type_title, category
        self._ports: list[str] = []
        self._state: BadgeState | None = None
        self._label = ""
        self._dirty = self._will_run = self._pinned = False
        self._problems = 0
        self._phase = 0.0
        self._spin: QVariantAnimation | None = None
        self.input_port = PortItem(self, PortKind.INPUT, None)
        self._outputs: dict[str | None, PortItem] = {}
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setZValue(1.0)
        self._set_ports(ports or [])
        self._show_disabled()

    # -- what it shows -------------------------------------------------------------

    @property
    def node_id(self) -> str:
        return self._spec.id

    @property
    def spec(self) -> NodeSpec:
        return self._spec

    @property
    def colour(self) -> QColor:
        return self.theme.category_colour(self._category)

    @property
    def ports(self) -> list[str]:
        """Named output ports shown (``[]``: one unnamed output)."""
        return list(self._ports)

    def set_spec(
        self, spec: NodeSpec, *, type_title: str, category: str, ports: list[str] | None
    ) -> None:
        """Show a new spec (after an edit or a rename); rebuilds ports when they changed."""
        self._spec, self._type_title, self._category = spec, type_title, category
        self._set_ports(ports or [])
        self._show_disabled()
        self.update()

    def _show_disabled(self) -> None:
        """A disabled (bypassed) node is drawn dimmed (and its tooltip says why)."""
        self.setOpacity(DISABLED_OPACITY if self._spec.disabled else 1.0)
        self._tooltip()

    def _tooltip(self) -> None:
        """The card's whole text (its title, id and badge are elided to fit the card)."""
        lines = [self._spec.name or self._spec.id, f"{self._spec.id} · {self._type_title}"]
        if self._spec.disabled:
            lines.append("Disabled: it does not run; its input passes through")
        self.setToolTip("\n".join([*lines, self._label] if self._label else lines))

    @property
    def pinned(self) -> bool:
        return self._pinned

    def set_pinned(self, pinned: bool) -> None:
        """Show the pin mark: runs use the pinned output instead of running the node."""
        if pinned != self._pinned:
            self._pinned = pinned
            self.update()

    def _set_ports(self, ports: list[str]) -> None:
        if ports == self._ports and self._outputs:
            return
        self.prepareGeometryChange()
        for item in self._outputs.values():
            item.setParentItem(None)  # type: ignore[arg-type]  # Qt accepts no parent
            if item.scene() is not None:
                item.scene().removeItem(item)
        self._ports = list(ports)
        names: list[str | None] = list(ports) or [None]
        self._outputs = {name: PortItem(self, PortKind.OUTPUT, name) for name in names}
        self.input_port.setPos(0.0, _PORT_Y)
        for i, name in enumerate(names):
            y = _PORT_Y if name is None else _HEADER + _PORT_ROW * i + _PORT_ROW / 2
            self._outputs[name].setPos(WIDTH, y)

    def set_theme(self, theme: CanvasTheme) -> None:
        self.theme = theme
        self.update()
        for child in self.childItems():
            child.update()

    @property
    def height(self) -> float:
        return node_height(len(self._ports))

    def output_port(self, name: str | None) -> PortItem | None:
        """The output port item for ``name`` (None: the unnamed output), if shown."""
        return self._outputs.get(name)

    def output_anchor(self, name: str | None) -> tuple[QPointF, bool]:
        """Scene point where an edge from port ``name`` starts, and whether the port exists.

        An edge naming a port the node does not show (a case was removed) starts
        from the first port and is drawn as invalid until it is fixed.
        """
        port = self._outputs.get(name)
        if port is None and name is None and self._ports:
            port = self._outputs[self._ports[0]]
            return port.scenePos(), True
        if port is None:
            return next(iter(self._outputs.values())).scenePos(), False
        return port.scenePos(), True

    def input_anchor(self) -> QPointF:
        return self.input_port.scenePos()

    # -- run state (for the monitor) ---------------------------------------------

    @property
    def state(self) -> BadgeState | None:
        return self._state

    @property
    def state_text(self) -> str:
        return self._label

    def set_state(self, status: str | None, attempts: int = 0, detail: str = "") -> None:
        """Show a run state (``None`` clears it); running and retrying animate."""
        state = BadgeState(status) if status is not None else None
        label = state_label(state, attempts, detail) if state is not None else ""
        if (state, label) == (self._state, self._label):
            return
        self._state, self._label = state, label
        self._animate(state in ANIMATED)
        self._tooltip()
        self.update()

    def _animate(self, on: bool) -> None:
        if on and self._spin is None:
            self._spin = spinner(self, self._turn)
        elif not on and self._spin is not None:
            self._spin.stop()
            self._spin.deleteLater()
            self._spin = None
            self._phase = 0.0

    @property
    def is_animating(self) -> bool:
        return self._spin is not None

    def _turn(self, value: Any) -> None:
        self._phase = float(value)
        self.update(self._badge_rect())

    def set_dirty(self, dirty: bool) -> None:
        """Mark the node as changed since the results shown were computed."""
        if dirty != self._dirty:
            self._dirty = dirty
            self.update()

    @property
    def will_run(self) -> bool:
        return self._will_run

    def set_will_run(self, will_run: bool) -> None:
        """Highlight the node as part of the next run (e.g. "run from here")."""
        if will_run != self._will_run:
            self._will_run = will_run
            self.update()

    def set_problem_count(self, count: int) -> None:
        """Show a warning mark when validation found problems in this node."""
        if count != self._problems:
            self._problems = count
            self.update()

    def dispose(self) -> None:
        """Stop the animation before the scene drops the item."""
        self._animate(False)

    # -- painting ------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, WIDTH, self.height).adjusted(
            -_HALO - 2, -_HALO - 2, _HALO + 2, _HALO + 4
        )

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, WIDTH, self.height), _RADIUS, _RADIUS)
        return path

    def _badge_rect(self) -> QRectF:
        return QRectF(0, self.height - _BADGE, WIDTH, _BADGE)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        theme, body = self.theme, QRectF(0, 0, WIDTH, self.height)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < _FAR:
            fill = theme.color("node_fill")
            paint_far(painter, body, self._border_pen(), fill, self.colour, self._state_colour())
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        if self._will_run:
            halo = QPen(theme.color("accent"), 2.0, Qt.PenStyle.DashLine)
            painter.setPen(halo)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(body.adjusted(-_HALO, -_HALO, _HALO, _HALO), 14, 14)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color("node_shadow"))
        painter.drawRoundedRect(body.translated(0, 2.5), _RADIUS, _RADIUS)
        painter.setBrush(theme.color("node_fill"))
        painter.setPen(self._border_pen())
        painter.drawRoundedRect(body, _RADIUS, _RADIUS)
        clip = QPainterPath()
        clip.addRoundedRect(body, _RADIUS, _RADIUS)
        painter.save()
        painter.setClipPath(clip)
        painter.fillRect(QRectF(0, 0, WIDTH, _STRIP), self.colour)
        painter.restore()
        self._paint_header(painter)
        self._paint_ports(painter)
        self._paint_badge(painter)

    def _state_colour(self) -> QColor | None:
        return self.theme.state_colour(self._state) if self._state is not None else None

    def _border_pen(self) -> QPen:
        if self.isSelected():
            return QPen(self.theme.color("accent"), 2.0)
        if self._state in (BadgeState.FAILED, BadgeState.RUNNING, BadgeState.RETRYING):
            return QPen(self.theme.state_colour(self._state), 1.6)
        return QPen(self.theme.color("node_border"), 1.0)

    def _paint_header(self, painter: QPainter) -> None:
        theme = self.theme
        title_font = QFont(painter.font())
        title_font.setPointSizeF(10.0)
        title_font.setBold(True)
        sub_font = QFont(painter.font())
        sub_font.setPointSizeF(8.0)
        marks = (14.0 if self._dirty else 0.0) + (16.0 if self._problems else 0.0)
        marks += 16.0 if self._pinned else 0.0
        title = self._spec.name or self._spec.id
        painter.setFont(title_font)
        painter.setPen(theme.color("title_text"))
        elided = QFontMetricsF(title_font).elidedText(
            title, Qt.TextElideMode.ElideRight, WIDTH - 28 - marks
        )
        painter.drawText(QRectF(14, 9, WIDTH - 28, 20), Qt.AlignmentFlag.AlignVCenter, elided)
        painter.setFont(sub_font)
        # On a white card the category colour is darkened a little to stay readable.
        painter.setPen(self.colour.darker(120) if theme.name == "light" else self.colour)
        subtitle = (
            self._type_title if not self._spec.name else f"{self._spec.id} · {self._type_title}"
        )
        elided = QFontMetricsF(sub_font).elidedText(
            subtitle, Qt.TextElideMode.ElideRight, WIDTH - 28
        )
        painter.drawText(QRectF(14, 28, WIDTH - 28, 16), Qt.AlignmentFlag.AlignVCenter, elided)
        x = WIDTH - 16.0
        if self._dirty:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.color("dirty"))
            painter.drawEllipse(QPointF(x, 19), 4.0, 4.0)
            x -= 16.0
        if self._problems:
            warn = QPainterPath(QPointF(x, 12.5))
            warn.lineTo(x + 6.5, 24.5)
            warn.lineTo(x - 6.5, 24.5)
            warn.closeSubpath()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.color("problem"))
            painter.drawPath(warn)
            painter.setPen(QPen(QColor("#ffffff"), 1.4))
            painter.drawLine(QPointF(x, 16.5), QPointF(x, 20.5))
            painter.drawPoint(QPointF(x, 22.6))
            x -= 16.0
        if self._pinned:
            self._paint_pin(painter, x)

    def _paint_pin(self, painter: QPainter, x: float) -> None:
        """A push-pin: a round head on a short needle, in the accent colour."""
        accent = self.theme.color("accent")
        painter.setPen(QPen(accent, 1.6))
        painter.drawLine(QPointF(x, 19), QPointF(x, 26))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        painter.drawEllipse(QPointF(x, 15.5), 4.2, 4.2)

    def _paint_ports(self, painter: QPainter) -> None:
        if not self._ports:
            return
        font = QFont(painter.font())
        font.setPointSizeF(8.0)
        painter.setFont(font)
        painter.setPen(QPen(self.theme.color("separator"), 1.0))
        painter.drawLine(QPointF(1, _HEADER), QPointF(WIDTH - 1, _HEADER))
        painter.setPen(self.theme.color("muted_text"))
        for i, name in enumerate(self._ports):
            row = QRectF(14, _HEADER + _PORT_ROW * i, WIDTH - 28, _PORT_ROW)
            shown = QFontMetricsF(font).elidedText(name, Qt.TextElideMode.ElideMiddle, row.width())
            painter.drawText(
                row, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, shown
            )

    def _paint_badge(self, painter: QPainter) -> None:
        theme, rect = self.theme, self._badge_rect()
        painter.setPen(QPen(theme.color("separator"), 1.0))
        painter.drawLine(QPointF(1, rect.top()), QPointF(WIDTH - 1, rect.top()))
        font = QFont(painter.font())
        font.setPointSizeF(8.0)
        painter.setFont(font)
        if self._state is None:
            return  # no run shown for this blueprint: no badge ("not run" misled)
        colour = theme.state_colour(self._state)
        paint_state_icon(painter, QPointF(19, rect.center().y()), self._state, colour, self._phase)
        painter.setPen(
            colour if self._state is not BadgeState.PENDING else theme.color("muted_text")
        )
        text = self._label
        elided = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, WIDTH - 44)
        painter.drawText(rect.adjusted(31, 0, -12, 0), Qt.AlignmentFlag.AlignVCenter, elided)
