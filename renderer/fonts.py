"""The fixed-pitch font for code, data, logs and errors.

Qt's ``systemFont(FixedFont)`` is whatever fontconfig calls ``monospace``; on a Debian
with ``fonts-noto-mono`` that is Noto Sans Mono, which Qt does not treat as fixed
pitch (columns of data and tracebacks then wobble). So the system's choice is kept
only when Qt agrees it is fixed pitch; else the first installed family Qt reports as
fixed pitch, preferring the common ones.
"""

from __future__ import annotations

import functools

from PySide6.QtGui import QFont, QFontDatabase, QFontInfo

_PREFERRED = ("DejaVu Sans Mono", "Liberation Mono", "Cascadia Mono", "Menlo", "Consolas")


@functools.cache
def _family() -> str | None:
    system = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if QFontInfo(system).fixedPitch():
        return None
    families = QFontDatabase.families()
    for family in (*_PREFERRED, *families):
        if family in families and QFontDatabase.isFixedPitch(family):
            return family
    return None


def fixed_font() -> QFont:
    """A fixed-pitch font at the system's fixed-font size (a QApplication must exist)."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    family = _family()
    if family is not None:
        font.setFamily(family)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font
