"""The blueprint properties panel, typed into like a user against a real worker:
inputs (name, type, default) and outputs, with what is wrong said under the row."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import shot


def type_into(field: QLineEdit, text: str) -> None:
    """Replace the field's text by typing, then press Enter (the edit is finished)."""
    field.setFocus()
    QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(field, Qt.Key.Key_Delete)
    QTest.keyClicks(field, text)
    QTest.keyClick(field, Qt.Key.Key_Return)


async def test_inputs_and_outputs_are_edited_checked_and_run(window: MainWindow) -> None:
    document = window.document
    document.add_node("set", node_id="a", params={"value": "{{ inputs.count }}"})
    tabs = window.inspector_tabs
    bar = tabs.tabBar()
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert tabs.currentIndex() == 1
    panel = window.blueprint_panel
    assert document.model.blueprint_id in panel.title.text()

    QTest.mouseClick(panel.add_input, Qt.MouseButton.LeftButton)
    url = panel.inputs[0]
    type_into(url.name, "1url")
    assert "not a name" in url.message.text() and url.message.isVisibleTo(panel)
    assert document.model.blueprint_field("inputs") == {}
    type_into(url.name, "url")
    assert not url.message.isVisibleTo(panel)
    type_into(url.value, "http://127.0.0.1/items")
    inputs = document.model.blueprint_field("inputs")
    assert inputs["url"]["type"] == "string"
    assert inputs["url"]["default"] == "http://127.0.0.1/items"

    QTest.mouseClick(panel.add_input, Qt.MouseButton.LeftButton)
    count = panel.inputs[1]
    type_into(count.name, "count")
    assert count.kind is not None
    count.kind.setFocus()
    QTest.keyClick(count.kind, Qt.Key.Key_Down)  # string → number
    QTest.keyClick(count.kind, Qt.Key.Key_Down)  # number → integer
    assert count.kind.currentText() == "integer"
    type_into(count.value, "three")
    assert "'three' is not an integer" in count.message.text()
    shot(window, "window-blueprint-properties-error.png")
    assert document.model.blueprint_field("inputs")["count"]["type"] == "integer"
    assert document.model.blueprint_field("inputs")["count"]["default"] is None
    type_into(count.value, "3")
    assert not count.message.isVisibleTo(panel)
    assert document.model.blueprint_field("inputs")["count"]["default"] == 3
    type_into(url.name, "count")
    assert "used twice" in url.message.text()
    type_into(url.name, "url")

    QTest.mouseClick(panel.add_output, Qt.MouseButton.LeftButton)
    result = panel.outputs[0]
    type_into(result.name, "result")
    assert "give a template" in result.message.text()
    type_into(result.value, "{{ nodes.a.output ")
    assert document.model.blueprint_field("outputs") is None  # a syntax error blocks
    assert result.message.text()
    type_into(result.value, "{{ nodes.nope.output }}")
    assert "no node 'nope'" in result.message.text()  # a warning: it is set anyway
    assert document.model.blueprint_field("outputs") == {"result": "{{ nodes.nope.output }}"}
    type_into(result.value, "{{ nodes.a.output }}")
    assert document.model.blueprint_field("outputs") == {"result": "{{ nodes.a.output }}"}
    shot(window, "window-blueprint-properties.png")

    document.undo_stack.undo()  # the panel shows what the blueprint holds
    await until(lambda: panel.outputs[0].value.text() == "{{ nodes.nope.output }}", what="undo")
    document.undo_stack.redo()
    await until(lambda: panel.outputs[0].value.text() == "{{ nodes.a.output }}", what="redo")

    execution_id = await window.runs.run(inputs={"url": "http://x", "count": 7})
    assert execution_id is not None
    ran = await window.bridge.conductor.wait(execution_id)
    assert ran.success and ran.outputs == {"result": 7}
    blueprint = await window.bridge.conductor.execution_blueprint(execution_id)
    assert blueprint.inputs["count"].type == "integer" and blueprint.inputs["count"].default == 3

    QTest.mouseClick(panel.inputs[0].remove, Qt.MouseButton.LeftButton)
    assert list(document.model.blueprint_field("inputs")) == ["count"]
    window.scene.select_nodes(["a"])
    assert tabs.currentIndex() == 0  # choosing a node shows its inspector
