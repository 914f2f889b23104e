"""The event log of one execution: a bounded, append-only text view.

Appends only events newer than the last one shown, so a repaint during a long run
costs the new lines, not the whole log; a block limit keeps memory flat.
"""

from __future__ import annotations

import time

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.events import Event
from renderer.monitor.monitor_model import LOG_LIMIT, ExecutionView


def format_event(event: Event) -> str:
    """``12:00:01.234 #7 node fetch completed (attempt 1) {...}``."""
    clock = (
        time.strftime("%H:%M:%S", time.localtime(event.ts)) + f".{int(event.ts * 1000) % 1000:03d}"
    )
    parts = [clock, f"#{event.seq}", event.kind]
    if event.node_id:
        parts.append(event.node_id)
    if event.status:
        parts.append(event.status)
    if event.attempt:
        parts.append(f"(attempt {event.attempt})")
    if event.data:
        data = ", ".join(f"{k}={v!r}" for k, v in event.data.items())
        parts.append(data if len(data) < 200 else data[:197] + "…")
    return " ".join(parts)


class LogView(QPlainTextEdit):
    """Events of the shown execution, oldest first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(LOG_LIMIT)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._shown: str | None = None
        self._last_seq = 0

    def show_execution(self, view: ExecutionView | None) -> None:
        if view is None:
            self.clear()
            self._shown, self._last_seq = None, 0
            return
        if view.execution_id != self._shown:
            self.clear()
            self._shown, self._last_seq = view.execution_id, 0
        new = [e for e in view.log if e.seq > self._last_seq]
        if new:
            self.appendPlainText("\n".join(format_event(e) for e in new))
            self._last_seq = new[-1].seq
