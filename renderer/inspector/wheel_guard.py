"""Combo and spin boxes that ignore the mouse wheel unless the user focused them.

Qt's combo and spin boxes take wheel events even without focus, so scrolling the
inspector over a field changed it: a node's ``on_error`` went from ``fail`` to
``continue`` under the wheel, unseen. With the guard, a wheel over an unfocused box
scrolls the panel (the event goes to the parent) as it does in a browser form.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget


class _WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, QWidget)
            and not watched.hasFocus()
        ):
            event.ignore()  # on to the parent: the scroll area scrolls
            return True
        return False


def guard_wheel(widget: QWidget) -> None:
    """Let ``widget`` take the wheel only while it has focus (click or Tab gives it)."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    guard = _WheelGuard(widget)
    widget.installEventFilter(guard)
