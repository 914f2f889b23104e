"""A Gantt chart of one execution: one bar per node, so parallelism shows.

Bars are painted from the monitor model's rows on each repaint; nothing is kept
per node, so a repaint of a large run costs only the rows in view.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

from app.states import NodeStatus
from renderer.canvas.theme import LIGHT, CanvasTheme
from renderer.monitor.monitor_model import ExecutionView

_ROW = 20
_LABEL = 140


class TimelineView(QWidget):
    """Bars from each node's start to its finish (or now, while it runs)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._view: ExecutionView | None = None
        self.theme: CanvasTheme = LIGHT
        self.setMinimumHeight(_ROW * 3)

    def show_execution(self, view: ExecutionView | None) -> None:
        self._view = view
        rows = len(view.nodes) if view else 0
        self.setMinimumHeight(max(_ROW * 3, (rows + 1) * _ROW))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(600, self.minimumHeight())

    def bars(self) -> list[tuple[str, float, float, NodeStatus]]:
        """(node, start offset s, end offset s, status) for nodes that started."""
        view = self._view
        if view is None:
            return []
        origin = view.started_at or min(
            (r.started_at for r in view.nodes.values() if r.started_at), default=0.0
        )
        now = view.finished_at or time.time()
        out = []
        for row in view.nodes.values():
            if row.started_at is None:
                continue
            end = row.finished_at if row.finished_at is not None else now
            out.append((row.node_id, row.started_at - origin, end - origin, row.status))
        return out

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        view = self._view
        if view is None or not view.nodes:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No execution selected")
            return
        bars = {name: (start, end, status) for name, start, end, status in self.bars()}
        span = max((end for _s, end, _st in bars.values()), default=0.0) or 1.0
        width = max(10.0, self.width() - _LABEL - 16)
        top, bottom = event.rect().top(), event.rect().bottom()
        for index, node_id in enumerate(view.nodes):
            y = index * _ROW + 4
            if y + _ROW < top or y > bottom:
                continue
            painter.setPen(text)
            painter.drawText(
                QRectF(6, y, _LABEL - 10, _ROW), Qt.AlignmentFlag.AlignVCenter, node_id
            )
            found = bars.get(node_id)
            if found is None:
                continue
            start, end, status = found
            x0 = _LABEL + start / span * width
            x1 = max(x0 + 3, _LABEL + end / span * width)
            colour = QColor(self.theme.state_colour(status))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(x0, y + 4, x1 - x0, _ROW - 8), 3, 3)
        painter.setPen(text)
        painter.drawText(
            QRectF(_LABEL, len(view.nodes) * _ROW + 4, width, _ROW),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{span:.2f} s",
        )
