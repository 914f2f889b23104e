"""Light and dark looks that follow the system colour scheme.

Qt reports the system's scheme through ``styleHints().colorScheme()`` (and a
signal when it changes); the canvas, palette and timeline take a matching
:class:`~renderer.canvas.theme.CanvasTheme` so nothing stays light in a dark UI.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from renderer.canvas.theme import DARK, LIGHT, CanvasTheme

_DARK_COLOURS = {
    QPalette.ColorRole.Window: "#1f2229",
    QPalette.ColorRole.WindowText: "#e8eaee",
    QPalette.ColorRole.Base: "#272b33",
    QPalette.ColorRole.AlternateBase: "#2c313a",
    QPalette.ColorRole.Text: "#e8eaee",
    QPalette.ColorRole.Button: "#2c313a",
    QPalette.ColorRole.ButtonText: "#e8eaee",
    QPalette.ColorRole.Highlight: "#3b82f6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.PlaceholderText: "#8b93a3",
    QPalette.ColorRole.ToolTipBase: "#272b33",
    QPalette.ColorRole.ToolTipText: "#e8eaee",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in _DARK_COLOURS.items():
        palette.setColor(role, QColor(colour))
    return palette


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_scheme(dark: bool | None = None) -> CanvasTheme:
    """Set the application palette for ``dark`` (default: the system's); return the theme."""
    app = QApplication.instance()
    dark = system_is_dark() if dark is None else dark
    if isinstance(app, QApplication):
        app.setStyle("Fusion")
        app.setPalette(dark_palette() if dark else app.style().standardPalette())
    return DARK if dark else LIGHT
