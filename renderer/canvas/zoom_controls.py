"""Zoom buttons in the canvas corner: out, the current zoom, in, and fit.

Wheel and keys zoom too, but a newcomer looks for buttons, and the percentage says
why the graph suddenly looks small. Clicking the percentage resets to 100%.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QToolButton, QWidget


class ZoomControls(QFrame):
    """A row of small buttons; the owner calls :meth:`show_zoom` when the zoom changes."""

    def __init__(
        self,
        parent: QWidget,
        *,
        zoom_in: Callable[[], None],
        zoom_out: Callable[[], None],
        reset: Callable[[], None],
        fit: Callable[[], None],
    ) -> None:
        super().__init__(parent)
        self.setObjectName("zoom-controls")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 2, 2, 2)
        row.setSpacing(0)
        self.out_button = self._button("\N{MINUS SIGN}", "Zoom out (wheel down)", zoom_out)
        self.level = self._button("100%", "Zoom to 100%", reset)
        self.level.setMinimumWidth(52)
        self.in_button = self._button("+", "Zoom in (wheel up)", zoom_in)
        self.fit_button = self._button("Fit", "Show every node (Ctrl+0)", fit)
        for button in (self.out_button, self.level, self.in_button, self.fit_button):
            row.addWidget(button)

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def show_zoom(self, zoom: float) -> None:
        self.level.setText(f"{round(zoom * 100)}%")

    def place(self, width: int, height: int, margin: int = 10) -> None:
        """Sit in the bottom-right corner of a ``width`` x ``height`` area."""
        self.adjustSize()
        self.move(width - self.width() - margin, height - self.height() - margin)
