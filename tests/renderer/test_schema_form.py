"""Forms generated from JSON schemas: kinds, $ref, optional fields, checks, edits."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from main_process.nodes.registry import default_registry
from renderer.editor.model import UNSET
from renderer.inspector.field_editors import (
    CheckEditor,
    ChoiceEditor,
    FieldEditor,
    JsonEditor,
    LineEditor,
)
from renderer.inspector.field_schema import FieldKind, check_value, fields_from_schema
from renderer.inspector.inspector_panel import node_settings_schema
from renderer.inspector.schema_form import SchemaForm
from renderer.inspector.template_check import TemplateScope, check_template
from tests.renderer.node_types import sample_node_types

HTTP = sample_node_types()[0].params_schema


def test_fields_are_read_from_the_schema() -> None:
    fields = {f.name: f for f in fields_from_schema(HTTP)}
    assert fields["url"].kind is FieldKind.STRING
    assert fields["url"].required
    assert fields["method"].kind is FieldKind.ENUM  # through $ref into $defs
    assert fields["method"].choices == ("GET", "POST", "PUT", "DELETE")
    assert fields["method"].default == "GET"
    assert fields["timeout"].kind is FieldKind.NUMBER  # anyOf [number, null]
    assert fields["timeout"].nullable
    assert fields["timeout"].maximum == 600
    assert fields["headers"].kind is FieldKind.JSON
    assert fields["raise_for_status"].kind is FieldKind.BOOLEAN


def test_node_settings_nest_the_retry_policy() -> None:
    fields = {f.name: f for f in fields_from_schema(node_settings_schema())}
    retry = fields["retry"]
    assert retry.kind is FieldKind.OBJECT
    assert retry.nullable
    assert [f.name for f in retry.fields] == ["max_attempts", "delay", "backoff"]
    assert fields["when"].choices == ("all_success", "none_failed", "any_success", "all_done")
    assert fields["timeout"].exclusive_minimum == 0


def test_every_builtin_schema_renders(qtbot: QtBot) -> None:
    for info in default_registry(plugins=False).describe():
        form = SchemaForm(info.params_schema)
        qtbot.addWidget(form)
        assert len(form.fields) == len(info.params_schema.get("properties", {})), info.type


def test_check_value() -> None:
    fields = {f.name: f for f in fields_from_schema(HTTP)}
    assert check_value(fields["url"], "") == "must not be empty"
    assert check_value(fields["url"], None) == "required"
    assert check_value(fields["timeout"], 601) == "must be at most 600"
    assert check_value(fields["timeout"], -1) == "must be at least 0"
    assert check_value(fields["timeout"], "{{ inputs.t }}") is None
    assert check_value(fields["timeout"], None) is None
    assert check_value(fields["method"], "BREW") is not None
    assert check_value(fields["headers"], [1]) == "expected a JSON object"


def test_template_checks() -> None:
    scope = TemplateScope(inputs=("url",), nodes=("fetch",))
    assert check_template("plain", scope) is None
    assert check_template("{{ inputs.url }}", scope) is None
    issue = check_template("{{ nodes.fecth.output }}", scope)
    assert issue is not None
    assert not issue.is_error
    assert "did you mean 'fetch'" in issue.message
    issue = check_template("{{ inptus.url }}", scope)
    assert issue is not None
    assert "inputs" in issue.message
    issue = check_template("{{ input.", scope)
    assert issue is not None
    assert issue.is_error
    assert "inputs (url)" in scope.hint()


@pytest.fixture
def form(qtbot: QtBot) -> SchemaForm:
    f = SchemaForm(HTTP, scope=TemplateScope(inputs=("url",), nodes=("check",)))
    qtbot.addWidget(f)
    f.show()
    f.set_value({"url": "http://x", "method": "POST"})
    return f


def _editor(form: SchemaForm, *path: str) -> FieldEditor:
    editor = form.editor(path)
    assert editor is not None
    return editor


def _type_into(line: Any, text: str) -> None:
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key.Key_Return)


def test_form_shows_values_and_emits_edits(form: SchemaForm, qtbot: QtBot) -> None:
    assert form.value() == {"url": "http://x", "method": "POST"}
    url = _editor(form, "url")
    assert isinstance(url, LineEditor)
    with qtbot.waitSignal(form.value_changed) as edited:
        _type_into(url.line, "{{ inputs.url }}/items")
    assert edited.args == [("url",), "{{ inputs.url }}/items"]


def test_numbers_are_parsed_and_bounded(form: SchemaForm, qtbot: QtBot) -> None:
    timeout = _editor(form, "timeout")
    assert isinstance(timeout, LineEditor)
    with qtbot.assertNotEmitted(form.value_changed):
        _type_into(timeout.line, "soon")
    assert form.messages()[("timeout",)] == "expected a number (or a template)"
    with qtbot.assertNotEmitted(form.value_changed):
        _type_into(timeout.line, "900")
    assert form.messages()[("timeout",)] == "must be at most 600"
    with qtbot.waitSignal(form.value_changed) as edited:
        _type_into(timeout.line, "2.5")
    assert edited.args == [("timeout",), 2.5]
    assert ("timeout",) not in form.messages()
    with qtbot.waitSignal(form.value_changed) as cleared:
        timeout.line.clear()
        timeout.line.editingFinished.emit()
    assert cleared.args == [("timeout",), UNSET]


def test_required_fields_refuse_empty(form: SchemaForm, qtbot: QtBot) -> None:
    url = _editor(form, "url")
    assert isinstance(url, LineEditor)
    with qtbot.assertNotEmitted(form.value_changed):
        url.line.clear()
        url.line.editingFinished.emit()
    assert form.messages()[("url",)] == "must not be empty"


def test_template_warnings_do_not_block(form: SchemaForm, qtbot: QtBot) -> None:
    url = _editor(form, "url")
    assert isinstance(url, LineEditor)
    with qtbot.waitSignal(form.value_changed):
        _type_into(url.line, "{{ nodes.chek.output }}")
    assert "did you mean 'check'" in form.messages()[("url",)]
    with qtbot.assertNotEmitted(form.value_changed):
        _type_into(url.line, "{{ nodes.check.output ")
    assert form.messages()[("url",)]


def test_enums_and_booleans(form: SchemaForm, qtbot: QtBot) -> None:
    method = _editor(form, "method")
    assert isinstance(method, ChoiceEditor)
    assert method.combo.currentData() == "POST"
    with qtbot.waitSignal(form.value_changed) as edited:
        method.combo.activated.emit(method.combo.findData("DELETE"))
    assert edited.args == [("method",), "DELETE"]
    check = _editor(form, "raise_for_status")
    assert isinstance(check, CheckEditor)
    assert check.box.isChecked()  # the default shows when not set
    with qtbot.waitSignal(form.value_changed) as toggled:
        check.box.click()
    assert toggled.args == [("raise_for_status",), False]


def test_json_box_checks_syntax_and_commits_on_focus_out(form: SchemaForm, qtbot: QtBot) -> None:
    headers = _editor(form, "headers")
    assert isinstance(headers, JsonEditor)
    headers.text.setPlainText('{"Accept": ')
    assert form.messages()[("headers",)].startswith("invalid JSON")
    with qtbot.assertNotEmitted(form.value_changed):
        headers.text.committed.emit()
    headers.text.setPlainText('{"Accept": "application/json"}')
    assert ("headers",) not in form.messages()
    with qtbot.waitSignal(form.value_changed) as edited:
        headers.text.committed.emit()
    assert edited.args == [("headers",), {"Accept": "application/json"}]


def test_free_json_takes_text_and_templates(qtbot: QtBot) -> None:
    form = SchemaForm({"type": "object", "properties": {"value": {"title": "Value"}}})
    qtbot.addWidget(form)
    editor = _editor(form, "value")
    assert isinstance(editor, JsonEditor)
    for text, value in [
        ("{{ input.count > 0 }}", "{{ input.count > 0 }}"),
        ("[1, 2]", [1, 2]),
        ("hello", "hello"),
        ('"true"', "true"),
    ]:
        editor.text.setPlainText(text)
        with qtbot.waitSignal(form.value_changed) as edited:
            editor.text.committed.emit()
        assert edited.args[1] == value
    form.set_value({"value": "true"})
    assert editor.text.toPlainText() == '"true"'  # a string that looks like JSON is quoted


def test_nested_object_paths_and_external_errors(qtbot: QtBot) -> None:
    form = SchemaForm(node_settings_schema(), show_hint=False)
    qtbot.addWidget(form)
    form.set_value({"retry": {"max_attempts": 3}, "timeout": 10.0})
    attempts = _editor(form, "retry", "max_attempts")
    assert isinstance(attempts, LineEditor)
    assert attempts.line.text() == "3"
    assert _editor(form, "timeout").value == 10.0
    with qtbot.waitSignal(form.value_changed) as edited:
        _type_into(attempts.line, "5")
    assert edited.args == [("retry", "max_attempts"), 5]
    form.set_errors({("retry", "delay"): "too long", ("when",): "bad"})
    assert form.messages() == {("retry", "delay"): "too long", ("when",): "bad"}
