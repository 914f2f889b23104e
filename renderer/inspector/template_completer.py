"""Autocomplete inside ``{{ … }}``: the names in scope, offered as the user types.

A plain QCompleter completes a whole line; a template wants the *word under the
cursor* completed, and only inside an open ``{{``. This completer watches a line
edit or a plain text edit (the JSON fields), finds the dotted name being typed
before the cursor inside an open expression, filters the scope's names by it
(case-insensitive, anywhere in the name) and, on Enter/Tab/click, replaces just
that word.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QLineEdit, QPlainTextEdit

#: The dotted name being typed at the end of the text before the cursor.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


def word_at(text: str, cursor: int) -> tuple[int, str] | None:
    """``(start, word)`` of the name being typed at ``cursor`` inside an open ``{{`` or
    ``{%``; None outside an expression."""
    before = text[:cursor]
    opened = max(before.rfind("{{"), before.rfind("{%"))
    closed = max(before.rfind("}}"), before.rfind("%}"))
    if opened < 0 or closed > opened:
        return None
    found = _WORD.search(before, opened + 2)
    if found is None:
        return (cursor, "") if before[opened + 2 :].strip() == "" else None
    return found.start(), found.group()


class TemplateCompleter(QObject):
    """Completes scope names inside template expressions of ``line``."""

    def __init__(self, line: QLineEdit | QPlainTextEdit, names: Callable[[], list[str]]) -> None:
        super().__init__(line)
        self._line = line
        self._names = names
        self._model = QStringListModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setWidget(line)
        self.completer.activated.connect(self.insert)
        if isinstance(line, QLineEdit):
            line.textEdited.connect(self._typed)
        else:
            line.textChanged.connect(lambda: self._typed(""))

    def _text(self) -> tuple[str, int]:
        line = self._line
        if isinstance(line, QLineEdit):
            return line.text(), line.cursorPosition()
        return line.toPlainText(), line.textCursor().position()

    def popup_visible(self) -> bool:
        """True while suggestions are shown (Enter and Tab then complete)."""
        return self._popup().isVisible()

    def _popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # QCompleter always has one
        return popup

    def _typed(self, _text: str) -> None:
        found = word_at(*self._text())
        if found is None:
            self._popup().hide()
            return
        _start, word = found
        self._model.setStringList(self._names())
        self.completer.setCompletionPrefix(word)
        if self.completer.completionCount() == 0 or (
            self.completer.completionCount() == 1 and self.completer.currentCompletion() == word
        ):
            self._popup().hide()
            return
        rect = self._line.cursorRect()
        rect.setWidth(max(240, self._popup().sizeHintForColumn(0) + 24))
        self.completer.complete(rect)

    def suggestions(self) -> list[str]:
        """What the popup offers now (for tests)."""
        model = self.completer.completionModel()
        return [str(model.index(row, 0).data()) for row in range(model.rowCount())]

    def insert(self, name: str) -> None:
        """Replace the word being typed with ``name``."""
        text, cursor = self._text()
        found = word_at(text, cursor)
        if found is None:
            return
        start, _word = found
        line = self._line
        if isinstance(line, QLineEdit):
            line.setText(text[:start] + name + text[cursor:])
            line.setCursorPosition(start + len(name))
            line.textEdited.emit(line.text())
        else:
            edit = line.textCursor()
            edit.setPosition(start)
            edit.setPosition(cursor, QTextCursor.MoveMode.KeepAnchor)
            edit.insertText(name)
            line.setTextCursor(edit)
        self._popup().hide()
