"""Asking before unsaved edits are dropped: Save, Discard or Cancel.

New, Open and closing the window all replace the document; none of them may lose
what the user drew without asking. (A crash cannot ask: autosave covers that.)
A window may hold more than its document: parents left open for a sub-blueprint
(:mod:`renderer.breadcrumbs`) register a guard that first goes back up to the top
parent, asking at each level with unsaved edits.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Protocol

from PySide6.QtWidgets import QMessageBox, QWidget

from renderer.editor.document import EditorDocument


class _Saving(Protocol):
    document: EditorDocument

    def save(self) -> bool: ...


#: Per window: asked first by :func:`may_discard`; False keeps the document.
_GUARDS: weakref.WeakKeyDictionary[object, Callable[[], bool]] = weakref.WeakKeyDictionary()


def guard_replacement(window: _Saving, guard: Callable[[], bool]) -> None:
    """Have :func:`may_discard` call ``guard()`` first for ``window``."""
    _GUARDS[window] = guard


def may_discard(window: _Saving, parent: QWidget) -> bool:
    """True when the document may be replaced or closed: its guard (if any) agreed,
    and it has no unsaved edits, or the user saved them, or chose to discard them."""
    guard = _GUARDS.get(window)
    if guard is not None and not guard():
        return False
    return may_discard_document(window, parent)


def may_discard_document(window: _Saving, parent: QWidget) -> bool:
    """:func:`may_discard` for the shown document alone (no guard asked)."""
    document = window.document
    if not document.is_dirty:
        return True
    buttons = (
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel
    )
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Unsaved changes",
        f"{document.title().rstrip(' *')} has unsaved changes. Save them first?",
        buttons,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return window.save()
    return answer == QMessageBox.StandardButton.Discard
