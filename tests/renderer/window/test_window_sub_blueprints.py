"""Sub-blueprints driven like a user against a real worker: select nodes, Make
sub-blueprint from their right-click menu (the Save dialog names the child, written to
the library), the call node's form shows the child's inputs (promoted), which survive
save and reopen; double-click opens the child with breadcrumbs, a call inside the
child shows its own child's inputs (nesting), and the crumbs lead back to the parent
with its unsaved edits."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QScrollArea

from app.blueprint import Blueprint
from renderer.main_window import MainWindow
from tests.renderer.test_extraction import PARENT
from tests.renderer.window.conftest import until
from tests.renderer.window.dialog_driver import click_box, fill_name_dialog
from tests.renderer.window.test_window_run import shot


def _promoted(window: MainWindow, node_id: str) -> dict[str, object]:
    """The call node's ``inputs`` fields as the inspector shows them: name → value."""
    window.scene.select_nodes([node_id])
    form = window.inspector.params_form
    inputs = next(f for f in form.fields if f.name == "inputs")
    shown: dict[str, object] = {}
    for field in inputs.fields:
        editor = form.editor(("inputs", field.name))
        assert editor is not None
        shown[field.name] = editor.value
    return shown


def _menu_entry(window: MainWindow, node_id: str, text: str) -> None:
    """Right-click ``node_id`` and choose ``text`` (from the Qt loop: it may ask)."""
    item = window.scene.node_item(node_id)
    assert item is not None
    centre = item.sceneBoundingRect().center()
    local = window.view.mapFromScene(centre)
    menu = window.view.menus.menu_at(centre, window.view.viewport().mapToGlobal(local))
    action = next(a for a in menu.actions() if a.text() == text)
    QTimer.singleShot(0, action.trigger)


async def test_make_open_nest_and_come_back(window: MainWindow, home: Path) -> None:
    document = window.document
    document.load(Blueprint.model_validate(PARENT))
    window.scene.select_nodes(["b", "c"])
    seen: list[str] = []
    fill_name_dialog(seen, ["parent-x"], "doubler", name="Doubler")
    _menu_entry(window, "b", "Make sub-blueprint…")
    await until(lambda: document.model.has_node("call_1"), what="the call node")
    child_file = home / "blueprints" / "doubler.json"
    child = json.loads(child_file.read_text())
    assert child["name"] == "Doubler" and set(child["inputs"]) == {"a", "k"}
    assert [n.id for n in document.model.nodes] == ["a", "k", "call_1", "d"]
    assert document.undo_stack.count() == 1
    assert window.scene.selected_node_ids() == ["call_1"]
    assert _promoted(window, "call_1") == {"a": "{{ nodes.a.output }}", "k": "{{ nodes.k.output }}"}

    # a promoted field edited on the call node is the call's param
    editor = window.inspector.params_form.editor(("inputs", "k"))
    assert editor is not None
    editor.edited.emit("{{ nodes.k.output + 1 }}")
    assert document.model.node("call_1").params["inputs"]["k"] == "{{ nodes.k.output + 1 }}"

    # save the parent, reopen it: the fields and values are there
    fill_name_dialog([], [], "main-flow", name="Main flow")
    QTimer.singleShot(0, window.save)
    await until(lambda: document.path == home / "blueprints" / "main-flow.json", what="saved")
    assert window.open_file(home / "blueprints" / "main-flow.json")
    assert _promoted(window, "call_1") == {
        "a": "{{ nodes.a.output }}",
        "k": "{{ nodes.k.output + 1 }}",
    }

    # an unsaved edit of the parent, then double-click the call: the child opens
    document.set_node_field("a", ("params", "value"), "{{ inputs.n + 2 }}")
    item = window.scene.node_item("call_1")
    assert item is not None
    at = window.view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    await until(lambda: document.model.blueprint_id == "doubler", what="the child open")
    bar = window.commands.sub.trail.bar
    assert bar.isVisible() and bar.text() == "Main flow \u203a Doubler"
    assert window.commands.sub.back.isEnabled()
    assert document.path == child_file and not document.is_dirty

    # nesting: make a sub-blueprint inside the child; its call shows its own inputs
    window.scene.select_nodes(["c"])
    assert window.commands.sub.make_sub_blueprint("adder", "Adder")
    assert _promoted(window, "call_1") == {"b": "{{ nodes.b.output }}", "k": "{{ inputs.k }}"}
    window.resize(1280, 860)
    window.docks[-1].hide()  # the monitor: no run here, room for the canvas
    await until(lambda: window.view.height() > 400, what="the window resized")
    scroll = window.inspector.findChild(QScrollArea)
    assert scroll is not None
    scroll.ensureWidgetVisible(window.inspector.params_form, 0, 0)
    window.view.fit_to_view()
    shot(window, "window-sub-blueprint.png")  # the call selected: its promoted inputs
    _menu_entry(window, "call_1", "Open sub-blueprint")
    await until(lambda: document.model.blueprint_id == "adder", what="the grandchild open")
    assert bar.text() == "Main flow \u203a Doubler \u203a Adder"

    # back to the top: the child's unsaved edit asks, is saved; the parent's edit is kept
    answers: list[str] = []
    click_box(QMessageBox.StandardButton.Save, answers)
    QTimer.singleShot(
        0, lambda: QTest.mouseClick(bar.crumbs[0], Qt.MouseButton.LeftButton, pos=QPoint(4, 4))
    )
    await until(lambda: document.model.blueprint_id == "main-flow", what="the parent back")
    assert answers == ["doubler.json has unsaved changes. Save them first?"]
    assert not bar.isVisible() and not window.commands.sub.back.isEnabled()
    assert document.is_dirty and document.path == home / "blueprints" / "main-flow.json"
    assert document.model.node("a").params["value"] == "{{ inputs.n + 2 }}"
    saved_child = json.loads(child_file.read_text())
    assert "adder" in json.dumps(saved_child)  # the child's nested call was saved
    assert _promoted(window, "call_1")["k"] == "{{ nodes.k.output + 1 }}"


async def test_a_selection_that_cannot_be_extracted_says_why(window: MainWindow) -> None:
    window.document.load(Blueprint.model_validate(PARENT))
    window.scene.select_nodes(["a", "c"])
    assert not window.commands.sub.make_sub_blueprint("never")
    assert "'b' depends on the selection and feeds it" in window.last_error
    assert window.document.undo_stack.count() == 0


async def test_new_from_a_child_asks_about_its_parents_first(
    window: MainWindow, home: Path
) -> None:
    document = window.document
    document.load(Blueprint.model_validate(PARENT))
    window.scene.select_nodes(["b"])
    assert window.commands.sub.make_sub_blueprint("twice", "Twice")
    assert window.commands.sub.open_sub_blueprint("call_1")  # the parent is unsaved
    assert document.model.blueprint_id == "twice"
    document.add_node("delay", node_id="later", params={"seconds": 0})
    answers: list[str] = []
    # the child's edit is discarded; at the parent's, Cancel (the second box asked)
    click_box(QMessageBox.StandardButton.Discard, answers)
    QTimer.singleShot(0, window.new_document)
    await until(lambda: len(answers) == 1, what="the child asked")
    click_box(QMessageBox.StandardButton.Cancel, answers)
    await until(lambda: len(answers) == 2, what="both asked")
    assert answers[0].startswith("twice.json has unsaved changes")
    assert answers[1].startswith("parent has unsaved changes")
    # cancelled at the parent: it stays shown, with its edit; no New
    await until(lambda: document.model.blueprint_id == "parent", what="the parent shown")
    assert document.is_dirty and document.model.has_node("call_1")
    assert not window.commands.sub.trail.bar.isVisible()
