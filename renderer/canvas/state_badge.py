"""The run-state badge drawn at the foot of a node: a small vector icon and a label.

Icons are painted as shapes, not font glyphs, so they look the same on every
platform (the offscreen test platform included) and take the state colour of the
theme. The run monitor sets the state; this module only knows how to show it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QEasingCurve, QObject, QPointF, QRectF, Qt, QVariantAnimation
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from app.states import ExecutionStatus, NodeReason, NodeStatus


class BadgeState(StrEnum):
    """What a node's badge can show: the node states plus ``interrupted`` and ``not run``.

    ``interrupted`` is an execution state (its process died); the monitor shows it
    on the nodes that were running when that happened. ``not run`` is a node that
    never started in an execution that ended (crashed, cancelled, failed fast): it
    showed ``pending`` after a crash, or ``cancelled · 0 ms``, as if it were to run
    or had run.
    """

    PENDING = NodeStatus.PENDING.value
    RUNNING = NodeStatus.RUNNING.value
    RETRYING = NodeStatus.RETRYING.value
    COMPLETED = NodeStatus.COMPLETED.value
    FAILED = NodeStatus.FAILED.value
    SKIPPED = NodeStatus.SKIPPED.value
    CANCELLED = NodeStatus.CANCELLED.value
    INTERRUPTED = ExecutionStatus.INTERRUPTED.value
    NOT_RUN = "not run"


def shown_state(
    status: NodeStatus, *, interrupted: bool, ended: bool = False, started: bool = True
) -> BadgeState:
    """The badge for a node in ``status``: a node still under way in an interrupted
    execution (its process died) shows ``interrupted``; once the execution ``ended``,
    a node that never ``started`` (still pending, or cancelled before it began)
    shows ``not run``; every other its own state."""
    if interrupted and status in (NodeStatus.RUNNING, NodeStatus.RETRYING):
        return BadgeState.INTERRUPTED
    if ended and (status is NodeStatus.PENDING or (status is NodeStatus.CANCELLED and not started)):
        return BadgeState.NOT_RUN
    return BadgeState(status.value)


#: States whose icon turns while shown.
ANIMATED = frozenset({BadgeState.RUNNING, BadgeState.RETRYING})
_RADIUS = 5.5


#: How a node's reason for not running shows beside its state.
_REASONS = {
    NodeReason.PINNED: "pinned",
    NodeReason.DISABLED: "disabled",
    NodeReason.NOT_IN_RUN: "not in run",
    NodeReason.GIVEN_INPUT: "given input",
}


def reason_label(reason: str | None) -> str:
    """``pinned``, ``disabled``, ``not in run``: why a node ended without running."""
    if reason is None:
        return ""
    try:
        return _REASONS[NodeReason(reason)]
    except ValueError:
        return reason  # a reason this version does not know: shown as recorded


def state_label(state: BadgeState, attempts: int = 0, detail: str = "") -> str:
    """``completed · 2 attempts · 112 ms``: the state, then what the monitor adds."""
    parts = [state.value]
    if state is BadgeState.RETRYING and attempts:
        parts = [f"retrying · attempt {attempts + 1}"]
    elif attempts > 1:
        parts.append(f"{attempts} attempts")
    if detail:
        parts.append(detail)
    return " · ".join(parts)


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def paint_state_icon(
    painter: QPainter, centre: QPointF, state: BadgeState, colour: QColor, phase: float = 0.0
) -> None:
    """Draw the icon for ``state`` centred on ``centre``; ``phase`` (0..1) turns spinners."""
    r = _RADIUS
    box = QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r)
    white = QColor("#ffffff")
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    match state:
        case BadgeState.PENDING:
            painter.setPen(_pen(colour, 1.6))
            painter.drawEllipse(box.adjusted(0.8, 0.8, -0.8, -0.8))
        case BadgeState.NOT_RUN:
            dashed = _pen(colour, 1.4)
            dashed.setStyle(Qt.PenStyle.DotLine)
            painter.setPen(dashed)
            painter.drawEllipse(box.adjusted(0.8, 0.8, -0.8, -0.8))
        case BadgeState.RUNNING | BadgeState.RETRYING:
            faint = QColor(colour)
            faint.setAlphaF(0.25)
            painter.setPen(_pen(faint, 2.0))
            painter.drawEllipse(box.adjusted(1, 1, -1, -1))
            painter.setPen(_pen(colour, 2.0))
            span = 110 if state is BadgeState.RUNNING else 250
            start = int(-phase * 360 * 16)
            painter.drawArc(box.adjusted(1, 1, -1, -1), start, span * 16)
        case BadgeState.COMPLETED:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(box)
            tick = QPainterPath(QPointF(centre.x() - 2.6, centre.y() + 0.2))
            tick.lineTo(centre.x() - 0.6, centre.y() + 2.2)
            tick.lineTo(centre.x() + 2.8, centre.y() - 2.0)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(_pen(white, 1.6))
            painter.drawPath(tick)
        case BadgeState.FAILED:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(box)
            painter.setPen(_pen(white, 1.6))
            d = 2.2
            painter.drawLine(QPointF(centre.x() - d, centre.y() - d), centre + QPointF(d, d))
            painter.drawLine(QPointF(centre.x() - d, centre.y() + d), centre + QPointF(d, -d))
        case BadgeState.SKIPPED:
            painter.setPen(_pen(colour, 1.6))
            painter.drawEllipse(box.adjusted(0.8, 0.8, -0.8, -0.8))
            painter.drawLine(centre + QPointF(-2.8, 2.8), centre + QPointF(2.8, -2.8))
        case BadgeState.CANCELLED:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(box)
            painter.setPen(_pen(white, 1.8))
            painter.drawLine(centre + QPointF(-2.6, 0), centre + QPointF(2.6, 0))
        case BadgeState.INTERRUPTED:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(box)
            painter.setPen(_pen(white, 1.8))
            painter.drawLine(centre + QPointF(0, -2.8), centre + QPointF(0, 0.6))
            painter.drawPoint(centre + QPointF(0, 2.8))
    painter.restore()


def spinner(owner: QObject, on_turn: Callable[[Any], None]) -> QVariantAnimation:
    """A running badge's endless turn (0 → 1 each 1.1 s), started, owned by ``owner``."""
    spin = QVariantAnimation(owner)
    spin.setStartValue(0.0)
    spin.setEndValue(1.0)
    spin.setDuration(1100)
    spin.setLoopCount(-1)
    spin.setEasingCurve(QEasingCurve.Type.Linear)
    spin.valueChanged.connect(on_turn)
    spin.start()
    return spin
