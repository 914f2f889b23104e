"""Asking before unsaved edits are dropped: Save, Discard or Cancel.

New, Open and closing the window all replace the document; none of them may lose
what the user drew without asking. (A crash cannot ask: autosave covers that.)
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QMessageBox, QWidget

from renderer.editor.document import EditorDocument


class _Saving(Protocol):
    document: EditorDocument

    def save(self) -> bool: ...


def may_discard(window: _Saving, parent: QWidget) -> bool:
    """True when the document may be replaced or closed: it has no unsaved edits,
    or the user saved them, or chose to discard them."""
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
