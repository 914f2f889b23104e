"""The event log of one execution: a bounded, append-only text view.

Appends only events newer than the last one shown, so a repaint during a long run
costs the new lines, not the whole log; a block limit keeps memory flat. A repaint
appends at most ``MAX_APPEND`` lines: when a flood brings more, the older ones are
summarised in one line (the full log stays in the store; this is a live tail) —
appending 2,000 lines to a QPlainTextEdit takes ~40 ms, a visible freeze. When the
bridge reads a skipped stretch back (``log_version`` changes), the log is rewritten.
"""

from __future__ import annotations

import time

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.events import Event
from renderer.fonts import fixed_font
from renderer.monitor.monitor_model import LOG_LIMIT, ExecutionView

#: Lines one repaint may append.
MAX_APPEND = 200


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
    data = dict(event.data or {})
    error = data.pop("error", None)
    if isinstance(error, dict):
        parts.append(error_text(error, event.node_id))
    if data:
        text = ", ".join(f"{k}={v!r}" for k, v in data.items())
        parts.append(text if len(text) < 200 else text[:197] + "…")
    return " ".join(parts)


def error_text(error: dict[str, object], node_id: str | None = None) -> str:
    """``— ValueError: bad input (node parse, at params.x)``: the message, its type and
    where, as a reader wants them (the log showed the recorded dict)."""
    kind, message = error.get("type"), str(error.get("message") or "")
    head = f"{kind}: {message}" if kind else message
    places = [f"node {error.get('node_id') or node_id}"] if error.get("node_id") or node_id else []
    if error.get("where"):
        places.append(f"at {error['where']}")
    return f"— {head}" + (f" ({', '.join(places)})" if places else "")


class LogView(QPlainTextEdit):
    """Events of the shown execution, oldest first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(LOG_LIMIT)
        self.setFont(fixed_font())
        self._shown: str | None = None
        self._last_seq = 0
        self._version = 0
        self._pending: ExecutionView | None = None

    def show_execution(self, view: ExecutionView | None) -> None:
        """Show ``view``'s new events. While the Log tab is hidden the text is left
        alone (it catches up when shown): appending costs ~20 µs a line."""
        if view is not None and not self.isVisible():
            self._pending = view
            return
        self._pending = None
        if view is None:
            self.clear()
            self._shown, self._last_seq = None, 0
            return
        if view.execution_id != self._shown or view.log_version != self._version:
            self.clear()  # another execution, or a gap was filled in: rewrite it all
            self._shown, self._last_seq = view.execution_id, 0
            self._version = view.log_version
            limit = LOG_LIMIT
        else:
            limit = MAX_APPEND
        new = [e for e in view.log if e.seq > self._last_seq]
        if new:
            lines = [format_event(e) for e in new[-limit:]]
            skipped = new[-1].seq - self._last_seq - len(lines)
            if skipped > 0:
                lines.insert(0, f"… {skipped:,} more events (the full log is in the store) …")
            self.appendPlainText("\n".join(lines))
            self._last_seq = new[-1].seq

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._pending is not None:
            self.show_execution(self._pending)
