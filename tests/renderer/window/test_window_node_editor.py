"""The node editor (double-click a node): input | params | output of the last run,
template autocomplete, and a live preview rendered by the worker."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from app.blueprint import Blueprint
from app.states import ExecutionStatus
from renderer.data_view import DataView
from renderer.inspector.field_editors import JsonEditor
from renderer.main_window import MainWindow
from renderer.node_editor import NodeEditor
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import shot


def _load(window: MainWindow) -> None:
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "editor-demo",
                "inputs": {"factor": {"type": "number", "default": 3}},
                "nodes": [
                    {"id": "start", "type": "set", "params": {"value": {"amount": 40}}},
                    {
                        "id": "report",
                        "type": "log",
                        "params": {"message": "amount {{ input.amount }}"},
                    },
                ],
                "edges": [{"source": "start", "target": "report"}],
            }
        )
    )
    window.view.fit_to_view()


def _editor(window: MainWindow) -> NodeEditor | None:
    found = [e for e in window.findChildren(NodeEditor) if e.isVisible()]
    return found[-1] if found else None


async def test_double_click_opens_the_editor_with_the_last_runs_data_and_a_live_preview(
    window: MainWindow,
) -> None:
    _load(window)
    execution_id = await window.runs.run(inputs={"factor": 3})
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status == ExecutionStatus.COMPLETED, what="run completed")

    item = window.scene.node_item("report")
    assert item is not None
    at = window.view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    await until(lambda: _editor(window) is not None, what="node editor shown")
    editor = _editor(window)
    assert editor is not None and editor.node_id == "report"
    assert editor.execution_id == execution_id
    assert [editor.inputs.tabText(i) for i in range(editor.inputs.count())] == ["start"]
    upstream = editor.inputs.widget(0)
    assert isinstance(upstream, DataView)
    await upstream.settled()
    await editor.output.settled()
    assert upstream.tree_model is not None and upstream.tree_model.rowCount() == 1  # amount
    assert editor.output.tree_model is not None

    message = editor.form.params_form.editor(("message",))
    assert isinstance(message, JsonEditor)  # log's message takes any value
    line = message.text
    line.setFocus()
    await until(lambda: editor.previewed_field is line, what="field previewed")
    await editor.previewed()
    assert json.loads(editor.preview.toPlainText()) == "amount 40"

    # Autocomplete inside {{ }}: the names in scope.
    line.clear()
    QTest.keyClicks(line, "{{ inp")
    offered = message.completer.suggestions()
    assert "inputs.factor" in offered and "input" in offered
    message.completer.insert("inputs.factor")
    assert line.toPlainText() == "{{ inputs.factor"
    QTest.keyClicks(line, " * 2 }}")
    await until(lambda: editor.preview.toPlainText().strip() == "6", what="preview of the new text")
    assert "number" in editor.preview_title.text()

    line.clear()
    QTest.keyClicks(line, "{{ nodes.nope.output }}")
    await until(lambda: "nope" in editor.preview.toPlainText(), what="preview error")
    assert "cannot render" in editor.preview_title.text()
    shot(editor, "window-node-editor.png")
    editor.close()


async def test_the_editor_says_when_there_is_no_run_yet(window: MainWindow) -> None:
    _load(window)
    window.scene.node_activated.emit("start")
    await until(lambda: _editor(window) is not None, what="node editor shown")
    editor = _editor(window)
    assert editor is not None and editor.execution_id is None
    assert editor.inputs.tabText(0) == "no run yet"
    assert "Run the blueprint" in editor.output.title
    lines = editor.form.findChildren(QLineEdit)
    assert lines  # the node's own fields are there to edit
    editor.close()
