"""A dialog that asks for one JSON value: a pinned output, or a lone node's input.

Opened window-modal with ``open()`` and awaited through its ``finished`` signal
(:func:`ask_json`), never with a nested ``exec()`` loop, so the qasync loop and the
worker's events keep running while it is shown. Text that is not JSON keeps the
dialog open and says where it fails.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)


class JsonDialog(QDialog):
    """One JSON value, typed or edited from a starting text; :meth:`value` reads it."""

    def __init__(self, title: str, prompt: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("json-dialog")
        self.resize(520, 360)
        column = QVBoxLayout(self)
        label = QLabel(prompt)
        label.setWordWrap(True)
        column.addWidget(label)
        self.editor = QPlainTextEdit(text)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        column.addWidget(self.editor, 1)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #dc2626")
        column.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)

    def value(self) -> Any:
        """The value typed; ValueError naming line and column when it is not JSON."""
        try:
            return json.loads(self.editor.toPlainText())
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"Not JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            ) from None

    def _accept(self) -> None:
        try:
            self.value()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


async def dialog_result(dialog: QDialog) -> int:
    """Open ``dialog`` (window-modal, without a nested event loop) and await its code."""
    answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(code: int) -> None:
        if not answered.done():
            answered.set_result(code)

    dialog.finished.connect(finished)
    dialog.open()
    return await answered


async def ask_json(
    parent: QWidget, title: str, prompt: str, initial: Any = None
) -> tuple[bool, Any]:
    """Show a :class:`JsonDialog` and wait: ``(True, value)``, or ``(False, None)``."""
    text = "" if initial is None else json.dumps(initial, indent=2, ensure_ascii=False)
    dialog = JsonDialog(title, prompt, text, parent)
    try:
        code = await dialog_result(dialog)
        if code != QDialog.DialogCode.Accepted:
            return False, None
        return True, dialog.value()
    finally:
        dialog.deleteLater()
