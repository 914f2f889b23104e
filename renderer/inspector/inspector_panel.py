"""The inspector: the selected node's id, run settings, params and problems.

Every field is generated from a schema — the node settings from
:class:`~app.blueprint.NodeSpec`'s own JSON schema, the params from the node
type's ``params_schema`` — so the panel holds no per-type code. Edits go to the
document as commands (undoable, one step each); the panel re-reads the node when
the document says it changed, so an undo shows at once. Problems from validation
are listed below and shown under the fields they name.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.blueprint import NodeSpec
from app.errors import Problem
from renderer.editor.document import EditorDocument
from renderer.editor.errors import EditError
from renderer.inspector.call_inputs import ChildResolver, call_params_schema, is_call
from renderer.inspector.schema_form import ERROR_COLOUR, Path, SchemaForm
from renderer.inspector.template_check import TemplateScope

#: Node fields the settings form shows, with their labels.
SETTINGS_TITLES = {
    "name": "Label",
    "timeout": "Timeout (s)",
    "retry": "Retry",
    "when": "Run when",
    "on_error": "On error",
    "runner": "Runner",
}
#: A node that streams its items also shows how its stream is recorded.
STREAM_TITLES = {**SETTINGS_TITLES, "record": "Record stream"}
_RETRY_TITLES = {"max_attempts": "Attempts", "delay": "Delay (s)", "backoff": "Backoff factor"}
_PATH_PART = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
_LINE = re.compile(r"\s*\(line \d+\)$")


def node_settings_schema(streams: bool = False) -> dict[str, Any]:
    """The part of NodeSpec's JSON schema the settings form shows (retry trimmed to
    three; ``record`` for a node that ``streams``)."""
    full = NodeSpec.model_json_schema()
    props = full["properties"]
    defs = dict(full["$defs"])
    retry = dict(defs["RetryPolicy"])
    retry["properties"] = {
        key: {**retry["properties"][key], "title": title} for key, title in _RETRY_TITLES.items()
    }
    defs["RetryPolicy"] = retry
    titles = STREAM_TITLES if streams else SETTINGS_TITLES
    properties = {key: {**props[key], "title": title} for key, title in titles.items()}
    properties["when"]["description"] = (
        "all_success: every upstream completed · none_failed: no upstream failed · "
        "any_success: one completed · all_done: always (cleanup)"
    )
    properties["on_error"]["description"] = (
        "fail: stop the execution · continue: record the error and go on"
    )
    if streams:
        properties["record"]["description"] = (
            "summary: the item count, bytes and first 1,000 items · "
            "full: every item (paged in the Data tab, reused by resume)"
        )
    return {"type": "object", "properties": properties, "$defs": defs}


def split_where(where: str) -> Path:
    """``.params.url`` → ``("params", "url")``, ``[2]`` → ``(2,)``; ``(line N)`` is dropped."""
    text = _LINE.sub("", where)
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(text):
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else (name or quoted))
    return tuple(parts)


def _section(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text.upper(), parent)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(max(font.pointSizeF() - 1.5, 7.0))
    label.setFont(font)
    label.setStyleSheet("color: palette(placeholder-text); padding-top: 8px;")
    return label


class InspectorPanel(QWidget):
    """Edits the selected node of a document (see the module docstring)."""

    #: An edit was refused (a taken id, a bad value): the message, for the status bar.
    edit_refused = Signal(str)

    def __init__(self, document: EditorDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._node_id: str | None = None
        self._type: str | None = None
        #: Whether the shown node streams (its settings then show ``record``).
        self._streams = False
        #: Finds a call node's child blueprint, for its promoted inputs (the window sets it).
        self.child_resolver: ChildResolver | None = None
        self._child: object = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        content = QWidget(scroll)
        scroll.setWidget(content)
        box = QVBoxLayout(content)
        box.setContentsMargins(12, 10, 12, 12)
        box.setSpacing(6)
        self.placeholder = QLabel("Select a node to edit it.", content)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: palette(placeholder-text); padding: 24px;")
        box.addWidget(self.placeholder)
        self.details = QWidget(content)
        box.addWidget(self.details)
        box.addStretch(1)
        self._build_details()
        document.node_changed.connect(self._on_node_changed)
        document.node_renamed.connect(self._on_node_renamed)
        document.node_removed.connect(self._on_node_removed)
        document.node_inserted.connect(self._on_node_inserted)
        document.blueprint_changed.connect(self._on_blueprint_changed)
        document.reset.connect(self._on_reset)
        document.node_types_changed.connect(self._rebuild_params)
        document.problems_changed.connect(self._show_problems)
        self.show_node(None)

    def _build_details(self) -> None:
        box = QVBoxLayout(self.details)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        self.title = QLabel(self.details)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() + 3)
        font.setBold(True)
        self.title.setFont(font)
        # A 155-character node id once made the whole inspector scroll sideways (Xvfb
        # trial): the title may be narrower than the id, which its tooltip shows whole.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.subtitle = QLabel(self.details)
        self.description = QLabel(self.details)
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: palette(placeholder-text);")
        for widget in (self.title, self.subtitle, self.description):
            box.addWidget(widget)
        box.addWidget(_section("Node", self.details))
        self.id_edit = QLineEdit(self.details)
        self.id_edit.setObjectName("node_id")
        self.id_edit.setToolTip("The node's id: how edges and {{ nodes.<id> }} templates name it")
        self.id_edit.editingFinished.connect(self._rename)
        self.id_message = QLabel(self.details)
        self.id_message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.id_message.setWordWrap(True)
        self.id_message.hide()
        id_row = QWidget(self.details)
        id_box = QVBoxLayout(id_row)
        id_box.setContentsMargins(0, 0, 0, 0)
        id_box.setSpacing(2)
        id_box.addWidget(QLabel("Id *", id_row))
        id_box.addWidget(self.id_edit)
        id_box.addWidget(self.id_message)
        box.addWidget(id_row)
        self.settings_form = SchemaForm(
            node_settings_schema(), show_hint=False, parent=self.details
        )
        self.settings_form.value_changed.connect(self._settings_edited)
        box.addWidget(self.settings_form)
        self.params_section = _section("Parameters", self.details)
        box.addWidget(self.params_section)
        self.params_form = SchemaForm(parent=self.details)
        self.params_form.value_changed.connect(self._params_edited)
        box.addWidget(self.params_form)
        self.problems_section = _section("Problems", self.details)
        box.addWidget(self.problems_section)
        self.problem_list = QListWidget(self.details)
        self.problem_list.setFrameShape(QFrame.Shape.NoFrame)
        self.problem_list.setWordWrap(True)
        self.problem_list.setMaximumHeight(120)
        box.addWidget(self.problem_list)

    # -- what is shown -------------------------------------------------------------

    @property
    def node_id(self) -> str | None:
        return self._node_id

    def show_selection(self, node_ids: list[str]) -> None:
        """Show the one selected node; several or none show a short note instead."""
        if len(node_ids) == 1:
            self.show_node(node_ids[0])
            return
        self.show_node(None)
        if node_ids:
            self.placeholder.setText(f"{len(node_ids)} nodes selected.")

    def show_node(self, node_id: str | None) -> None:
        """Edit this node (None: nothing selected)."""
        model = self.document.model
        if node_id is not None and not model.has_node(node_id):
            node_id = None
        self._node_id = node_id
        self.placeholder.setText("Select a node to edit it.")
        self.placeholder.setVisible(node_id is None)
        self.details.setVisible(node_id is not None)
        if node_id is None:
            self._type = None
            return
        if model.node(node_id).type != self._type:
            self._rebuild_params()
        self._fill()

    def _rebuild_params(self) -> None:
        if self._node_id is None:
            return
        spec = self.document.model.node(self._node_id)
        self._type = spec.type
        info = self.document.catalog.get(spec.type)
        schema = info.params_schema if info else {}
        self._child = spec.params.get("blueprint_id") if is_call(spec) else None
        if is_call(spec):
            schema = call_params_schema(spec, schema, self.child_resolver)
        self.params_form.set_schema(schema)
        self.params_section.setVisible(bool(self.params_form.fields))
        self.params_form.setVisible(bool(self.params_form.fields))
        unknown = "Runs another blueprint as a child." if is_call(spec) else "Unknown node type."
        self.description.setText(info.description if info else unknown)
        category = self.document.catalog.category(spec.type)
        title = self.document.catalog.title(spec.type)
        self.subtitle.setText(f"{title} · {spec.type}" + (f" · {category}" if category else ""))
        self._fill()

    def _fill(self) -> None:
        if self._node_id is None:
            return
        spec = self.document.model.node(self._node_id)
        self.title.setText(spec.name or spec.id)
        self.title.setToolTip(spec.id)
        if self.id_edit.text() != spec.id:
            self.id_edit.setText(spec.id)
        self.id_message.hide()
        streams = self.document.catalog.streams(spec)
        if streams != self._streams:  # a stream flag changed: show or hide ``record``
            self._streams = streams
            self.settings_form.set_schema(node_settings_schema(streams))
        fields = set(STREAM_TITLES if streams else SETTINGS_TITLES)
        settings = spec.model_dump(mode="json", exclude_unset=True, include=fields)
        self.settings_form.set_value({k: v for k, v in settings.items() if v is not None})
        self.params_form.set_value(spec.params)
        self._refresh_scope()
        self._show_problems()

    def _refresh_scope(self) -> None:
        model = self.document.model
        inputs = model.blueprint_field("inputs") or {}
        variables = model.blueprint_field("vars") or {}
        nodes = tuple(n for n in model.node_ids() if n != self._node_id)
        self.params_form.set_scope(TemplateScope(tuple(inputs), nodes, tuple(variables)))

    def _show_problems(self) -> None:
        if self._node_id is None:
            return
        problems = self.document.node_problems(self._node_id)
        prefix = f"nodes[{self.document.model.index_of(self._node_id)}]"
        settings: dict[Path, str] = {}
        params: dict[Path, str] = {}
        self.problem_list.clear()
        for problem in problems:
            path = split_where(problem.where[len(prefix) :])
            if path[:1] == ("params",):
                params[path[1:2]] = problem.message
            elif path:
                settings[path] = problem.message
            self.problem_list.addItem(self._problem_text(path, problem))
        self.settings_form.set_errors(settings)
        self.params_form.set_errors(params)
        self.problems_section.setText(f"PROBLEMS ({len(problems)})" if problems else "PROBLEMS")
        self.problem_list.setVisible(bool(problems))
        self.problems_section.setVisible(bool(problems))

    @staticmethod
    def _problem_text(path: Path, problem: Problem) -> str:
        place = ".".join(str(p) for p in path)
        return f"⚠ {place}: {problem.message}" if place else f"⚠ {problem.message}"

    # -- edits → commands --------------------------------------------------------------

    def _rename(self) -> None:
        if self._node_id is None:
            return
        new_id = self.id_edit.text().strip()
        if new_id == self._node_id:
            self.id_message.hide()
            return
        try:
            self.document.rename_node(self._node_id, new_id)
        except EditError as exc:
            self.id_message.setText(exc.message)
            self.id_message.show()
            self.edit_refused.emit(str(exc))

    def _settings_edited(self, path: Path, value: Any) -> None:
        self._edit(path, value, self.settings_form)

    def _params_edited(self, path: Path, value: Any) -> None:
        self._edit(("params", *path), value, self.params_form, path)

    def _edit(self, path: Path, value: Any, form: SchemaForm, shown: Path | None = None) -> None:
        if self._node_id is None:
            return
        try:
            self.document.set_node_field(self._node_id, path, value)
        except EditError as exc:
            form.set_errors({shown or path: exc.message})
            self.edit_refused.emit(str(exc))

    # -- document → panel ----------------------------------------------------------------

    def _on_node_inserted(self, index: int, node_id: str) -> None:
        self._refresh_scope()

    def _on_blueprint_changed(self, name: str) -> None:
        self._refresh_scope()

    def _on_reset(self) -> None:
        self.show_node(None)

    def _on_node_changed(self, index: int, node_id: str) -> None:
        if node_id == self._node_id:
            spec = self.document.model.node(node_id)
            if is_call(spec) and spec.params.get("blueprint_id") != self._child:
                self._rebuild_params()  # another child: other promoted inputs
            else:
                self._fill()

    def _on_node_renamed(self, index: int, old_id: str, new_id: str) -> None:
        if old_id == self._node_id:
            self._node_id = new_id
            self._fill()
        else:
            self._refresh_scope()

    def _on_node_removed(self, index: int, node_id: str) -> None:
        if node_id == self._node_id:
            self.show_node(None)
        else:
            self._refresh_scope()
