"""One editor widget per field kind, each turning text into a checked value.

An editor emits ``edited`` only with a value it could read and that fits the field
(a number within its bounds, JSON that parses, a template without syntax errors),
and only when the user finished editing (Enter, focus leaving, a click), so every
emission is one meaningful edit — one command on the undo stack. While the user
types it reports what is wrong through ``message_changed``; the form shows it
under the field. ``set_value`` shows a value without emitting anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QPlainTextEdit, QWidget

from renderer.editor.edit_rules import UNSET
from renderer.fonts import fixed_font
from renderer.inspector.field_schema import FieldKind, FieldSpec, check_value
from renderer.inspector.template_check import TemplateScope, check_template
from renderer.inspector.template_completer import TemplateCompleter
from renderer.inspector.wheel_guard import guard_wheel

ScopeSource = Callable[[], TemplateScope]


class InvalidText(ValueError):
    """The text cannot become a value of the field; the message says why."""


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def same_value(a: Any, b: Any) -> bool:
    """Whether an edit changed nothing: ``10 == 10.0``, but ``1`` is not ``true``."""
    if a is UNSET or b is UNSET:
        return a is b
    if _number(a) and _number(b):
        return bool(a == b)
    return _show(a) == _show(b)


def format_number(value: Any) -> str:
    """``10.0`` → ``10``, ``0.2`` → ``0.2``: numbers as a person would type them."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


class FieldEditor(QWidget):
    """Base of the editors: holds the field, the shown value and the message logic."""

    #: The user finished an edit: the new value (UNSET: cleared, back to the default).
    edited = Signal(object)
    #: What is wrong (or worth knowing) about the current text: (message, is_error).
    message_changed = Signal(str, bool)

    def __init__(self, spec: FieldSpec, scope: ScopeSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._scope = scope
        self._value: Any = UNSET
        self._message = ("", False)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self.setToolTip(spec.description)

    @property
    def value(self) -> Any:
        """The value shown (UNSET when the field is not set)."""
        return self._value

    @property
    def message(self) -> tuple[str, bool]:
        return self._message

    def set_value(self, value: Any) -> None:
        """Show ``value`` (UNSET: not set) without emitting ``edited``."""
        self._value = value
        self._show(value)
        self._tell("", False)

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _tell(self, message: str, is_error: bool) -> None:
        if (message, is_error) != self._message:
            self._message = (message, is_error)
            self.message_changed.emit(message, is_error)

    def _parse(self, text: str) -> Any:
        """Text → value (UNSET for empty); InvalidText when it cannot be read."""
        raise NotImplementedError

    def _judge(self, text: str) -> tuple[Any, str, bool]:
        """(value, message, is_error) for ``text``; an error means the value is refused."""
        try:
            value = self._parse(text)
        except InvalidText as exc:
            return UNSET, str(exc), True
        problem = check_value(self.spec, None if value is UNSET else value)
        if problem:
            return UNSET, problem, True
        issue = check_template(value, self._scope()) if isinstance(value, str) else None
        if issue is not None:
            return value, issue.message, issue.is_error
        return value, "", False

    def _review(self, text: str) -> None:
        """While typing: say what is wrong, emit nothing."""
        _value, message, is_error = self._judge(text)
        self._tell(message, is_error)

    def _commit(self, text: str) -> None:
        """Editing finished: emit the value if it is good and differs from the shown one."""
        value, message, is_error = self._judge(text)
        self._tell(message, is_error)
        if is_error:
            return
        if same_value(value, self._value):
            return
        self._value = value
        self.edited.emit(value)


class LineEditor(FieldEditor):
    """Strings and numbers in a line edit (a number field also takes a template)."""

    def __init__(self, spec: FieldSpec, scope: ScopeSource, parent: QWidget | None = None) -> None:
        super().__init__(spec, scope, parent)
        self.line = QLineEdit(self)
        self.line.setClearButtonEnabled(spec.kind is FieldKind.STRING)
        if spec.has_default and spec.default is not None:
            self.line.setPlaceholderText(str(spec.default))
        elif spec.examples:
            self.line.setPlaceholderText(f"e.g. {spec.examples[0]}")
        elif not spec.required:
            self.line.setPlaceholderText("optional")
        self.line.textEdited.connect(self._review)
        self.line.editingFinished.connect(lambda: self._commit(self.line.text()))
        self._row.addWidget(self.line)
        #: Names in scope offered inside ``{{ … }}`` as the user types.
        self.completer = TemplateCompleter(self.line, lambda: self._scope().names())

    def _show(self, value: Any) -> None:
        self.line.setText("" if value is UNSET or value is None else format_number(value))

    def _parse(self, text: str) -> Any:
        if text == "":
            return "" if self.spec.kind is FieldKind.STRING and self.spec.required else UNSET
        if self.spec.kind is FieldKind.STRING or "{{" in text or "{%" in text:
            return text
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            raise InvalidText("expected a number (or a template)") from None
        if self.spec.kind is FieldKind.INTEGER:
            if not number.is_integer():
                raise InvalidText("expected a whole number")
            return int(number)
        return int(number) if number.is_integer() and "." not in text else number


class CheckEditor(FieldEditor):
    """A boolean as a check box; a click is an edit."""

    def __init__(self, spec: FieldSpec, scope: ScopeSource, parent: QWidget | None = None) -> None:
        super().__init__(spec, scope, parent)
        self.box = QCheckBox(self)
        self.box.clicked.connect(self._clicked)
        self._row.addWidget(self.box)

    def _show(self, value: Any) -> None:
        shown = self.spec.default if value is UNSET else value
        self.box.setChecked(bool(shown))

    def _parse(self, text: str) -> Any:
        return text == "true"

    def _clicked(self, checked: bool) -> None:
        self._commit("true" if checked else "false")


class ChoiceEditor(FieldEditor):
    """An enum as a combo box; an optional one without a default starts with "—"."""

    def __init__(self, spec: FieldSpec, scope: ScopeSource, parent: QWidget | None = None) -> None:
        super().__init__(spec, scope, parent)
        self.combo = QComboBox(self)
        guard_wheel(self.combo)
        self._blank = not spec.required and (spec.nullable or not spec.has_default)
        if self._blank:
            self.combo.addItem("—", None)
        for choice in spec.choices:
            mark = " (default)" if spec.has_default and choice == spec.default else ""
            self.combo.addItem(f"{choice}{mark}", choice)
        self.combo.activated.connect(lambda index: self._commit(str(index)))
        self._row.addWidget(self.combo)

    def _show(self, value: Any) -> None:
        shown = self.spec.default if value is UNSET and self.spec.has_default else value
        index = self.combo.findData(shown) if shown is not UNSET else -1
        self.combo.setCurrentIndex(index if index >= 0 else 0)

    def _parse(self, text: str) -> Any:
        data = self.combo.itemData(int(text))
        return UNSET if data is None and self._blank and int(text) == 0 else data


class _JsonText(QPlainTextEdit):
    """A plain text edit that commits when focus leaves or on Ctrl+Enter."""

    #: Editing finished (focus left, or Ctrl+Enter): time to read the text.
    committed = Signal()
    #: Set by the owner: while it says True, Enter/Tab/Escape belong to the completer.
    completing: Callable[[], bool] = staticmethod(lambda: False)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.committed.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        keys = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab, Qt.Key.Key_Escape)
        if event.key() in keys and self.completing():
            event.ignore()  # the completer's popup takes it
            return
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.committed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class JsonEditor(FieldEditor):
    """Lists, objects and free values as JSON text; plain text or a template is a string."""

    def __init__(self, spec: FieldSpec, scope: ScopeSource, parent: QWidget | None = None) -> None:
        super().__init__(spec, scope, parent)
        self.text = _JsonText(self)
        self.text.setTabChangesFocus(True)
        self.text.setFont(fixed_font())
        self.text.setFixedHeight(64)
        self.text.setPlaceholderText(self._placeholder())
        self.text.textChanged.connect(lambda: self._review(self.text.toPlainText()))
        self.text.committed.connect(lambda: self._commit(self.text.toPlainText()))
        self._row.addWidget(self.text)
        #: Names in scope offered inside ``{{ … }}`` as the user types.
        self.completer = TemplateCompleter(self.text, lambda: self._scope().names())
        self.text.completing = self.completer.popup_visible

    def _placeholder(self) -> str:
        if self.spec.examples:
            return _show(self.spec.examples[0])
        if self.spec.has_default and self.spec.default is not None:
            return _show(self.spec.default)
        expected = self.spec.schema.get("type")
        if expected == "array":
            return '["…"]  (a JSON list, or a template)'
        if expected == "object":
            return '{"key": "value"}  (a JSON object, or a template)'
        return "JSON, or text (templates allowed)"

    def _show(self, value: Any) -> None:
        self.text.blockSignals(True)
        if value is UNSET:
            shown = ""
        elif isinstance(value, str) and not _parses(value):
            shown = value
        else:
            shown = _show(value)
            if len(shown) > 60:
                shown = json.dumps(value, ensure_ascii=False, indent=2)
        self.text.setPlainText(shown)
        self.text.blockSignals(False)

    def _parse(self, text: str) -> Any:
        stripped = text.strip()
        if not stripped:
            return UNSET
        try:
            return json.loads(stripped)
        except ValueError as exc:
            if stripped.startswith(("[", '"')) or (
                stripped.startswith("{") and not stripped.startswith(("{{", "{%"))
            ):
                raise InvalidText(f"invalid JSON: {exc}") from None
            return stripped


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def editor_for(spec: FieldSpec, scope: ScopeSource, parent: QWidget | None = None) -> FieldEditor:
    """The editor widget for a field's kind (not for OBJECT: the form nests a sub-form)."""
    match spec.kind:
        case FieldKind.STRING | FieldKind.NUMBER | FieldKind.INTEGER:
            return LineEditor(spec, scope, parent)
        case FieldKind.BOOLEAN:
            return CheckEditor(spec, scope, parent)
        case FieldKind.ENUM:
            return ChoiceEditor(spec, scope, parent)
        case FieldKind.JSON | FieldKind.OBJECT:
            return JsonEditor(spec, scope, parent)
