"""A non-blocking message strip above the canvas, with action buttons.

Used for the worker-crash notice and the crash-recovery offer: neither should stop
the user with a modal dialog, and a test can press their buttons directly.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget


class Banner(QFrame):
    """A coloured strip: a message and buttons; hidden until :meth:`show_message`."""

    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet(
            f"#banner {{ background: {colour}; border-radius: 4px; }}"
            " #banner QLabel { color: white; font-weight: 600; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        # A long blueprint id in the recovery offer is one unbreakable word: it once
        # widened the window past the screen (Xvfb trial). Clip; the tooltip has it all.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 10, 6)
        self._layout.addWidget(self.label, 1)
        self.buttons: dict[str, QPushButton] = {}
        self.hide()

    def show_message(self, text: str, actions: dict[str, Callable[[], None]]) -> None:
        self.set_text(text)
        for button in self.buttons.values():
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = {}
        for title, callback in actions.items():
            button = QPushButton(title)
            button.clicked.connect(callback)
            self._layout.addWidget(button)
            self.buttons[title] = button
        self.show()

    def set_text(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)
