"""A form generated from a JSON schema: every node type is editable without GUI code.

:class:`SchemaForm` reads an object schema (a node type's ``params_schema``, or the
node settings schema the inspector builds from :class:`~app.blueprint.NodeSpec`)
into fields (:mod:`renderer.inspector.field_schema`), gives each an editor
(:mod:`renderer.inspector.field_editors`) and nests a sub-form for objects with
declared properties. It shows values it is given and reports edits as
``value_changed(path, value)``; it never writes a model itself, so the inspector
can turn each edit into an undoable command.

Messages under a field come from two places: the editor's own check as the user
types, and problems from validation (``set_errors``), which win until the field
is edited again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from renderer.editor.edit_rules import UNSET
from renderer.inspector.field_editors import FieldEditor, editor_for, same_value
from renderer.inspector.field_schema import FieldKind, FieldSpec, fields_from_schema
from renderer.inspector.template_check import TemplateScope

Path = tuple[str | int, ...]
#: Message colours: errors block an edit, warnings do not.
ERROR_COLOUR = "#dc2626"
WARNING_COLOUR = "#b45309"
_TEMPLATE_KINDS = {FieldKind.STRING, FieldKind.NUMBER, FieldKind.INTEGER, FieldKind.JSON}


class _FieldRow(QWidget):
    """An editor with its message line underneath."""

    def __init__(self, editor: FieldEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.hide()
        font = self.message.font()
        font.setPointSizeF(max(font.pointSizeF() - 1.0, 7.0))
        self.message.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(editor)
        layout.addWidget(self.message)
        self._own = ("", False)
        self._external = ""
        editor.message_changed.connect(self._own_message)
        editor.edited.connect(lambda _value: self.set_external(""))

    def _own_message(self, text: str, is_error: bool) -> None:
        self._own = (text, is_error)
        self._refresh()

    def set_external(self, text: str) -> None:
        self._external = text
        self._refresh()

    def text(self) -> str:
        return self._own[0] or self._external

    def _refresh(self) -> None:
        own, is_error = self._own
        text = own or self._external
        colour = ERROR_COLOUR if (is_error or not own) else WARNING_COLOUR
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setVisible(bool(text))


class SchemaForm(QWidget):
    """Fields for an object schema (see the module docstring)."""

    #: The user edited a field: (path, value); the value UNSET means "cleared".
    value_changed = Signal(object, object)

    def __init__(
        self,
        schema: Mapping[str, Any] | None = None,
        *,
        scope: TemplateScope | None = None,
        show_hint: bool = True,
        root: Mapping[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._scope = scope or TemplateScope()
        self._show_hint = show_hint
        self._fields: list[FieldSpec] = []
        self._rows: dict[str, _FieldRow] = {}
        self._subforms: dict[str, SchemaForm] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        # It names the nodes in scope: one long id is an unbreakable word that once
        # widened the whole inspector (Xvfb trial); clip it rather than widen.
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        self._layout.addWidget(self.hint)
        self._body = QWidget(self)
        self._layout.addWidget(self._body)
        self.set_schema(schema or {}, root)

    # -- building --------------------------------------------------------------------

    def set_schema(self, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> None:
        """Rebuild the fields for ``schema`` (``root`` holds ``$defs`` for nested forms)."""
        self._layout.removeWidget(self._body)
        self._body.hide()
        self._body.deleteLater()
        self._body = QWidget(self)
        self._layout.addWidget(self._body)
        form = QFormLayout(self._body)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self._fields = fields_from_schema(dict(schema), dict(root) if root is not None else None)
        self._rows, self._subforms = {}, {}
        for spec in self._fields:
            label = QLabel(spec.title + (" *" if spec.required else ""), self._body)
            label.setToolTip(spec.description)
            if spec.kind is FieldKind.OBJECT:
                form.addRow(label, self._subform(spec, schema, root))
                continue
            editor = editor_for(spec, lambda: self._scope, self._body)
            editor.setObjectName(f"field_{spec.name}")
            editor.set_value(UNSET)  # show the default until a value comes
            editor.edited.connect(
                lambda value, name=spec.name: self.value_changed.emit((name,), value)
            )
            row = _FieldRow(editor, self._body)
            self._rows[spec.name] = row
            form.addRow(label, row)
        self._refresh_hint()

    def _subform(
        self, spec: FieldSpec, schema: Mapping[str, Any], root: Mapping[str, Any] | None
    ) -> QWidget:
        frame = QFrame(self._body)
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(8, 6, 8, 6)
        sub = SchemaForm(
            spec.schema, scope=self._scope, show_hint=False, root=root or schema, parent=frame
        )
        sub.value_changed.connect(
            lambda path, value, name=spec.name: self.value_changed.emit((name, *path), value)
        )
        inner.addWidget(sub)
        self._subforms[spec.name] = sub
        return frame

    def _refresh_hint(self) -> None:
        wanted = self._show_hint and any(f.kind in _TEMPLATE_KINDS for f in self._fields)
        self.hint.setText(self._scope.hint() if wanted else "")
        self.hint.setVisible(wanted)

    # -- showing -----------------------------------------------------------------------

    @property
    def fields(self) -> list[FieldSpec]:
        return list(self._fields)

    def set_scope(self, scope: TemplateScope) -> None:
        """The names templates may use (for the hint and the checks)."""
        self._scope = scope
        for sub in self._subforms.values():
            sub.set_scope(scope)
        self._refresh_hint()

    def set_value(self, values: Mapping[str, Any] | None) -> None:
        """Show these values; keys left out show as not set. Emits nothing."""
        values = values or {}
        for name, row in self._rows.items():
            shown = values.get(name, UNSET)
            if not same_value(row.editor.value, shown):
                row.editor.set_value(shown)
        for name, sub in self._subforms.items():
            nested = values.get(name)
            sub.set_value(nested if isinstance(nested, Mapping) else {})

    def value(self) -> dict[str, Any]:
        """The values shown, without the fields that are not set."""
        shown: dict[str, Any] = {
            name: row.editor.value
            for name, row in self._rows.items()
            if row.editor.value is not UNSET
        }
        for name, sub in self._subforms.items():
            nested = sub.value()
            if nested:
                shown[name] = nested
        return shown

    def editor(self, path: Path) -> FieldEditor | None:
        """The editor at ``path`` (``("retry", "delay")`` reaches into a nested group)."""
        if not path:
            return None
        head = str(path[0])
        if len(path) == 1 and head in self._rows:
            return self._rows[head].editor
        sub = self._subforms.get(head)
        return sub.editor(path[1:]) if sub is not None else None

    def set_errors(self, errors: Mapping[Path, str]) -> None:
        """Show validation problems under their fields (paths relative to this form)."""
        for name, row in self._rows.items():
            row.set_external(errors.get((name,), ""))
        for name, sub in self._subforms.items():
            sub.set_errors(
                {p[1:]: m for p, m in errors.items() if p and p[0] == name and len(p) > 1}
            )

    def messages(self) -> dict[Path, str]:
        """Every message shown under a field, by path."""
        found: dict[Path, str] = {(n,): r.text() for n, r in self._rows.items() if r.text()}
        for name, sub in self._subforms.items():
            found.update({(name, *p): m for p, m in sub.messages().items()})
        return found
