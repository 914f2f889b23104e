"""Choosing a blueprint file to open or save, and the first window size.

Kept out of the window: small decisions with rules of their own, each of which once
went wrong (a name typed without a suffix, a window larger than its screen).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QFileDialog, QWidget

_FILTER = "Blueprints (*.json *.yaml *.yml);;All files (*)"
_SUFFIXES = (".json", ".yaml", ".yml")


def fitting_size(available: QSize) -> QSize:
    """The first window size: 1500x950, or 92% of a smaller screen's free area (a
    1400x900 screen once got a window larger than itself)."""
    return QSize(min(1500, int(available.width() * 0.92)), min(950, int(available.height() * 0.92)))


def blueprint_path(name: str) -> Path:
    """The file a name typed in the Save dialog means: ``.json`` added when it has no
    blueprint suffix (``my-first`` once became a file that Open did not list)."""
    path = Path(name)
    return path if path.suffix.lower() in _SUFFIXES else Path(f"{name}.json")


def start_folder() -> str:
    """Where Open and Save start: the user's home. With "" they started in the
    process's working directory, "/" for an app started from a desktop menu."""
    return str(Path.home())


def ask_open_path(parent: QWidget) -> Path | None:
    name, _ = QFileDialog.getOpenFileName(parent, "Open blueprint", start_folder(), _FILTER)
    return Path(name) if name else None


def ask_save_path(parent: QWidget) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(parent, "Save blueprint", start_folder(), _FILTER)
    return blueprint_path(name) if name else None
