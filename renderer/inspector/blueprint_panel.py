"""The blueprint's properties: its declared ``inputs`` and its ``outputs``.

An input row is a name, a type and a default; an output row a name and a template
(``{{ nodes.save.output }}``) or a node id. A row is checked when a field is left
(or its type chosen): what is wrong is said under that row and nothing is changed
until every row is right; then all inputs (or all outputs) are set as one undoable
edit through the document. The rows are rebuilt from the document when it changes
(an undo, another blueprint opened), so what is shown is what the blueprint holds.

Assumptions: an input name is an identifier, so ``{{ inputs.name }}`` can reach it;
a default is typed as text and read by the input's type (JSON for objects, lists
and ``any``); the fields an input has beyond these (``description``, ``required``)
are kept as they were.
"""

from __future__ import annotations

import json
import re
from typing import Any, get_args

from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.blueprint import InputSpec
from app.blueprint_ids import id_problem
from renderer.editor.document import EditorDocument
from renderer.editor.errors import EditError
from renderer.inspector.schema_form import ERROR_COLOUR
from renderer.inspector.template_check import TemplateScope, check_template

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: The input types, as the blueprint format names them.
INPUT_TYPES: tuple[str, ...] = get_args(InputSpec.model_fields["type"].annotation)
_WARNING_COLOUR = "#b45309"


def parse_default(kind: str, text: str) -> Any:
    """The default ``text`` stands for as an input of type ``kind`` (None: no default);
    ValueError says why it does not fit."""
    text = text.strip()
    if not text:
        return None
    if kind == "string":
        return text
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError("a boolean default is true or false")
        return text.lower() == "true"
    if kind in ("number", "integer"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            wanted_kind = "an integer" if kind == "integer" else "a number"
            raise ValueError(f"{text!r} is not {wanted_kind}") from None
    try:
        value = json.loads(text)
    except ValueError:
        if kind == "any":
            return text
        shape = "{…}" if kind == "object" else "[…]"
        raise ValueError(f"write the default as JSON ({shape})") from None
    wanted = {"object": dict, "array": list}.get(kind)
    if wanted is not None and not isinstance(value, wanted):
        raise ValueError(f"the default is not {'an object' if kind == 'object' else 'a list'}")
    return value


def show_default(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _message_label(parent: QWidget) -> QLabel:
    label = QLabel("", parent)
    label.setWordWrap(True)
    label.hide()
    return label


def _say(label: QLabel, text: str, colour: str = ERROR_COLOUR) -> None:
    label.setText(text)
    label.setStyleSheet(f"color: {colour};")
    label.setVisible(bool(text))


class _Row:
    """One input or output: its widgets in the grid and the message under them."""

    def __init__(self, panel: BlueprintPanel, grid: QGridLayout, name: str) -> None:
        self.name = QLineEdit(name)
        self.name.setPlaceholderText("name")
        self.kind: QComboBox | None = None
        self.value = QLineEdit()
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setToolTip("Remove")
        self.message = _message_label(panel)
        self.widgets: list[QWidget] = [self.name, self.value, self.remove, self.message]
        self._grid = grid

    def place(self, row: int) -> None:
        line = row * 2
        self._grid.addWidget(self.name, line, 0)
        if self.kind is not None:
            self._grid.addWidget(self.kind, line, 1)
            self._grid.addWidget(self.value, line, 2)
        else:
            self._grid.addWidget(self.value, line, 1, 1, 2)
        self._grid.addWidget(self.remove, line, 3)
        self._grid.addWidget(self.message, line + 1, 0, 1, 4)
        for widget in self.widgets:  # a layout shows a new child only later, queued
            if widget is not self.message:
                widget.show()

    def dispose(self) -> None:
        for widget in self.widgets:
            self._grid.removeWidget(widget)
            widget.deleteLater()


class BlueprintPanel(QWidget):
    """Edits the blueprint's inputs and outputs (see the module docstring)."""

    def __init__(self, document: EditorDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        # A long id is one unbreakable word: let the title clip rather than widen the dock.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._inputs_grid = QGridLayout()
        self._outputs_grid = QGridLayout()
        for grid in (self._inputs_grid, self._outputs_grid):
            grid.setColumnStretch(0, 2)
            grid.setColumnStretch(2, 3)
        self.inputs: list[_Row] = []
        self.outputs: list[_Row] = []
        self._committing = False
        self.add_input = QPushButton("+ Add input", self)
        self.add_output = QPushButton("+ Add output", self)
        self.add_input.clicked.connect(lambda: self._new_row(self.inputs))
        self.add_output.clicked.connect(lambda: self._new_row(self.outputs))
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 10, 12, 12)
        box.addWidget(self.title)
        for heading, grid, button in (
            ("INPUTS  (name · type · default)", self._inputs_grid, self.add_input),
            ("OUTPUTS  (name · template or node id)", self._outputs_grid, self.add_output),
        ):
            label = QLabel(heading, self)
            label.setStyleSheet("color: palette(placeholder-text); padding-top: 8px;")
            box.addWidget(label)
            box.addLayout(grid)
            box.addWidget(button)
        # Short, or its width widens the whole Inspector dock and narrows the canvas.
        label = QLabel("ERROR HANDLER", self)
        label.setToolTip("A blueprint id, started when an execution of this one fails")
        label.setStyleSheet("color: palette(placeholder-text); padding-top: 8px;")
        #: The ``error_handler`` field: a library blueprint id, empty for none.
        self.error_handler = QLineEdit(self)
        self.error_handler.setPlaceholderText("none (a blueprint id)")
        self.error_handler.editingFinished.connect(self._check_error_handler)
        self.error_handler_message = QLabel(self)
        self.error_handler_message.setWordWrap(True)  # a long message must not widen the dock
        box.addWidget(label)
        box.addWidget(self.error_handler)
        box.addWidget(self.error_handler_message)
        box.addStretch(1)
        document.reset.connect(self.reload)
        document.blueprint_changed.connect(lambda _name: self.reload())
        document.node_renamed.connect(lambda *_: self._check_outputs(commit=False))
        self.reload()

    # -- showing ---------------------------------------------------------------------

    def reload(self) -> None:
        """Rebuild the rows from the document (what the blueprint holds now)."""
        model = self.document.model
        name = model.blueprint_field("name")
        self.title.setText(f"<b>{name or model.blueprint_id}</b> · {model.blueprint_id}")
        if self._committing:  # the rows show what was just set; keep the user's focus
            return
        self.error_handler.setText(model.blueprint_field("error_handler") or "")
        for row in self.inputs + self.outputs:
            row.dispose()
        self.inputs, self.outputs = [], []
        for key, spec in (model.blueprint_field("inputs") or {}).items():
            row = self._new_row(self.inputs, key, focus=False)
            assert row.kind is not None
            row.kind.setCurrentText(str(spec.get("type", "any")))
            row.value.setText(show_default(spec.get("default")))
        for key, value in (model.blueprint_field("outputs") or {}).items():
            row = self._new_row(self.outputs, key, focus=False)
            row.value.setText(show_default(value))

    def _new_row(self, rows: list[_Row], name: str = "", *, focus: bool = True) -> _Row:
        is_input = rows is self.inputs
        grid = self._inputs_grid if is_input else self._outputs_grid
        row = _Row(self, grid, name)
        if is_input:
            row.kind = QComboBox()
            row.kind.addItems(list(INPUT_TYPES))
            row.kind.setCurrentText("string")
            row.widgets.append(row.kind)
            row.value.setPlaceholderText("default")
            row.kind.activated.connect(lambda _index: self._check_inputs())
        else:
            row.value.setPlaceholderText("{{ nodes.<id>.output }}")
        check = self._check_inputs if is_input else self._check_outputs
        row.name.editingFinished.connect(check)
        row.value.editingFinished.connect(check)
        row.remove.clicked.connect(lambda: self._remove(rows, row))
        rows.append(row)
        row.place(len(rows) - 1)
        if focus:
            row.name.setFocus()
        return row

    def _remove(self, rows: list[_Row], row: _Row) -> None:
        rows.remove(row)
        row.dispose()
        for index, other in enumerate(rows):
            other.place(index)
        (self._check_inputs if rows is self.inputs else self._check_outputs)()

    # -- checking and committing -----------------------------------------------------

    def _names(self, rows: list[_Row]) -> list[str | None]:
        """Each row's name problem (None when fine), in row order; every row of a
        name used twice says so, so the one just typed into does too."""
        names = [row.name.text().strip() for row in rows]
        problems: list[str | None] = []
        for name in names:
            if not name:
                problem: str | None = "give it a name"
            elif not _NAME.match(name):
                problem = f"{name!r} is not a name (letters, digits, '_'; no digit first)"
            elif names.count(name) > 1:
                problem = f"{name!r} is used twice"
            else:
                problem = None
            problems.append(problem)
        return problems

    def _check_inputs(self) -> bool:
        """Show each input row's problem; set the inputs when there is none."""
        names = self._names(self.inputs)
        old = self.document.model.blueprint_field("inputs") or {}
        value: dict[str, Any] = {}
        ok = True
        for row, name_problem in zip(self.inputs, names, strict=True):
            assert row.kind is not None
            problem = name_problem
            kind = row.kind.currentText()
            default: Any = None
            if problem is None:
                try:
                    default = parse_default(kind, row.value.text())
                except ValueError as exc:
                    problem = f"default: {exc}"
            _say(row.message, problem or "")
            if problem is not None:
                ok = False
                continue
            name = row.name.text().strip()
            value[name] = {**old.get(name, {}), "type": kind, "default": default}
        return ok and self._commit("inputs", value, old, self.inputs)

    def _check_outputs(self, *, commit: bool = True) -> bool:
        """Show each output row's problem (an unknown name is a warning, not a refusal);
        set the outputs when nothing blocks them."""
        names = self._names(self.outputs)
        model = self.document.model
        scope = TemplateScope(
            inputs=tuple(model.blueprint_field("inputs") or {}),
            nodes=tuple(model.node_ids()),
            vars=tuple(model.blueprint_field("vars") or {}),
        )
        value: dict[str, Any] = {}
        ok = True
        for row, name_problem in zip(self.outputs, names, strict=True):
            problem = name_problem
            text = row.value.text().strip()
            warning = ""
            if problem is None and not text:
                problem = "give a template ({{ nodes.<id>.output }}) or a node id"
            elif problem is None:
                issue = check_template(text, scope)
                if issue is not None and issue.is_error:
                    problem = issue.message
                elif issue is not None:
                    warning = issue.message
                elif "{{" not in text and not model.has_node(text):
                    warning = f"no node {text!r}: the output will be that text"
            _say(row.message, problem or warning, ERROR_COLOUR if problem else _WARNING_COLOUR)
            if problem is not None:
                ok = False
                continue
            value[row.name.text().strip()] = text
        old = model.blueprint_field("outputs")
        new = value or None
        return ok and commit and self._commit("outputs", new, old, self.outputs)

    def _check_error_handler(self) -> bool:
        """Set ``error_handler`` (empty: none); an impossible id is said under it
        (whether the library holds it is the engine's validation to say)."""
        text = self.error_handler.text().strip()
        problem = id_problem(text) if text else None
        _say(self.error_handler_message, problem or "")
        if problem is not None:
            return False
        old = self.document.model.blueprint_field("error_handler")
        self._committing = True
        try:
            if (text or None) != old:
                self.document.set_blueprint_field("error_handler", text or None)
        except EditError as exc:
            _say(self.error_handler_message, str(exc))
            return False
        finally:
            self._committing = False
        return True

    def _commit(self, field: str, value: Any, old: Any, rows: list[_Row]) -> bool:
        if value == old:
            return True
        self._committing = True
        try:
            self.document.set_blueprint_field(field, value)
        except EditError as exc:
            if rows:
                _say(rows[-1].message, str(exc))
            return False
        finally:
            self._committing = False
        return True


def inspector_tabs(inspector: QWidget, panel: BlueprintPanel) -> QTabWidget:
    """The right dock's tabs: the selected node's inspector, the blueprint's properties."""
    tabs = QTabWidget()
    tabs.setObjectName("inspector-tabs")
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(panel)
    tabs.addTab(inspector, "Node")
    tabs.addTab(scroll, "Blueprint")
    return tabs
