"""What the window remembers between runs: geometry, dock layout, files.

Kept in ``QSettings`` under one organisation/application name, so tests can point
every instance at a temporary folder with ``QSettings.setPath`` and the INI format.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "Conductor"
APPLICATION = "Conductor"
#: Recent files kept in the File menu.
RECENT_LIMIT = 8


class AppSettings:
    """Typed accessors over the application's QSettings."""

    def __init__(self) -> None:
        self._qs = QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
        )

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._qs.value(key)
        return value if isinstance(value, QByteArray) else None

    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)

    def recent_files(self) -> list[str]:
        value = self._qs.value("files/recent", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def add_recent(self, path: Path) -> list[str]:
        entry = str(path)
        recent = [entry, *(p for p in self.recent_files() if p != entry)][:RECENT_LIMIT]
        self._qs.setValue("files/recent", recent)
        return recent

    def open_file(self) -> str | None:
        value = self._qs.value("files/open", "")
        return str(value) or None

    def set_open_file(self, path: Path | None) -> None:
        self._qs.setValue("files/open", str(path) if path else "")

    def sync(self) -> None:
        self._qs.sync()


def settings_path(folder: Path) -> None:
    """Keep QSettings (INI) under ``folder`` — tests use a temporary one."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
