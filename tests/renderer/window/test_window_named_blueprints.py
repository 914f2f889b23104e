"""Named blueprints, driven like a user against a real worker: New gives
``untitled-N``, Save names the blueprint into the library, History shows name and id,
and reopening a past run shows the exact blueprint that ran (issue 12, bug 4)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QListWidget, QMessageBox, QWidget

from app.states import ExecutionStatus
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.dialog_driver import click_box, fill_name_dialog, menu_action
from tests.renderer.window.test_window_run import SHOTS, badge, shot


def shot_widget(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(SHOTS / name))


def double_click_row(listing: QListWidget, row: int) -> None:
    item = listing.item(row)
    assert item is not None
    rect = listing.visualItemRect(item)
    # A real double-click is press, release, then a double-click event on the same row
    # (a view opens the row it saw pressed).
    QTest.mouseClick(listing.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(listing.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


async def run_to_end(window: MainWindow) -> str:
    """Press Run (the toolbar action) and wait for the run to complete; its id."""
    before = window.runs.current
    window.commands.run.trigger()
    await until(lambda: window.runs.current not in (None, before), what="a new run")
    execution_id = window.runs.current
    assert execution_id is not None
    await until(lambda: execution_id in window.history.execution_ids(), what="the run in History")
    view = window.bridge.model.execution(execution_id)
    assert view is not None and view.status is ExecutionStatus.COMPLETED
    return execution_id


def opened_file(window: MainWindow) -> Path | None:
    return window.document.path


def history_row(window: MainWindow, execution_id: str) -> int:
    return window.history.execution_ids().index(execution_id)


async def new_discarding(window: MainWindow) -> None:
    """File → New on a dirty document, answering Discard."""
    seen: list[str] = []
    click_box(QMessageBox.StandardButton.Discard, seen)
    trigger(window, "&New")
    await until(lambda: bool(seen), what="the question")
    assert "unsaved changes" in seen[0]


async def test_unsaved_blueprints_are_told_apart_and_reopen_their_own_runs(
    window: MainWindow,
) -> None:
    document = window.document
    assert document.model.blueprint_id == "untitled-1"
    assert "untitled-1" in window.windowTitle()
    document.add_node("set", node_id="only_in_first", params={"value": "one"})
    first = await run_to_end(window)
    await new_discarding(window)
    assert document.model.blueprint_id == "untitled-2"
    document.add_node("set", node_id="second_a", params={"value": "two"})
    document.add_node("set", node_id="second_b", params={"value": "{{ input }}"})
    second = await run_to_end(window)
    await new_discarding(window)
    assert document.model.blueprint_id == "untitled-3"
    texts = [window.history.item(r).text() for r in range(window.history.count())]
    assert "untitled-1" in texts[history_row(window, first)]
    assert "untitled-2" in texts[history_row(window, second)]

    double_click_row(window.history, history_row(window, first))
    await until(lambda: document.model.has_node("only_in_first"), what="first run's canvas")
    assert document.model.blueprint_id == "untitled-1"
    assert not document.model.has_node("second_a") and not document.is_dirty
    await until(lambda: badge(window, "only_in_first") == BadgeState.COMPLETED, what="badge")
    assert window.monitor.execution_id == first

    double_click_row(window.history, history_row(window, second))
    await until(lambda: document.model.has_node("second_a"), what="second run's canvas")
    assert document.model.blueprint_id == "untitled-2"
    assert not document.model.has_node("only_in_first")
    await until(lambda: badge(window, "second_b") == BadgeState.COMPLETED, what="badge")
    window.history.setCurrentRow(history_row(window, second))
    shot(window, "window-history-untitled.png")


async def test_save_names_the_blueprint_and_a_past_run_shows_what_ran(
    window: MainWindow, home: Path
) -> None:
    document = window.document
    document.add_node("set", node_id="add", params={"value": "version one"})
    seen: list[str] = []
    fill_name_dialog(
        seen,
        ["../up", "has space"],
        "flow",
        name="Flow",
        description="Adds one",
        picture=lambda dialog: shot_widget(dialog, "window-save-dialog.png"),
    )
    trigger(window, "&Save")
    await until(lambda: document.path is not None, what="saved")
    assert seen[0] == "prefilled||"  # an untitled id is not offered as the name
    bad_path, bad_space, final = seen[1:]
    assert bad_path.startswith("../up|False|") and "not a valid blueprint id" in bad_path
    assert bad_space.startswith("has space|False|")
    assert final == "flow|True|"
    saved_file = home / "blueprints" / "flow.json"
    assert document.path == saved_file and document.title() == "flow.json"
    saved = json.loads(saved_file.read_text())
    assert (saved["id"], saved["name"], saved["description"]) == ("flow", "Flow", "Adds one")
    await until(lambda: "flow" in window.library.summaries, what="flow in the Library")

    first = await run_to_end(window)
    document.set_node_field("add", ("params", "value"), "version two")
    menu_action(window, "&Save").trigger()  # has a file now: no question, no dialog
    assert json.loads(saved_file.read_text())["nodes"][0]["params"]["value"] == "version two"
    second = await run_to_end(window)
    row = window.history.item(history_row(window, first))
    assert row is not None and "Flow (flow)" in row.text()

    double_click_row(window.history, history_row(window, first))
    await until(
        lambda: document.model.node("add").params["value"] == "version one", what="what ran"
    )
    assert opened_file(window) is None  # the file holds version two; it is left alone
    assert json.loads(saved_file.read_text())["nodes"][0]["params"]["value"] == "version two"
    await until(lambda: badge(window, "add") == BadgeState.COMPLETED, what="badge")
    double_click_row(window.history, history_row(window, second))
    await until(lambda: document.model.node("add").params["value"] == "version two", what="second")
    assert opened_file(window) == saved_file  # what ran is what the file holds: Save writes it

    await new_discarding_if_dirty(window)
    document.add_node("delay", node_id="wait", params={"seconds": 0})
    taken: list[str] = []
    fill_name_dialog(taken, ["flow", "multi-step-automation"], "flow-2")
    trigger(window, "&Save")
    await until(lambda: document.path == home / "blueprints" / "flow-2.json", what="saved 2")
    assert taken[1].startswith("flow|False|") and "saved already" in taken[1]
    assert taken[2].startswith("multi-step-automation|False|") and "example" in taken[2]


async def new_discarding_if_dirty(window: MainWindow) -> None:
    if window.document.is_dirty:
        await new_discarding(window)
    else:
        menu_action(window, "&New").trigger()  # asks nothing


def library_row(window: MainWindow, blueprint_id: str) -> int:
    for row in range(window.library.count()):
        item = window.library.item(row)
        if item is not None and item.data(Qt.ItemDataRole.UserRole) == blueprint_id:
            return row
    raise AssertionError(f"{blueprint_id} is not in the Library")


def click_library(window: MainWindow, blueprint_id: str, button: str) -> None:
    """Select the blueprint's row with the mouse, then click one of the buttons."""
    listing = window.library
    item = listing.item(library_row(window, blueprint_id))
    assert item is not None
    listing.scrollToItem(item)
    rect = listing.visualItemRect(item)
    QTest.mouseClick(listing.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert listing.selected_id() == blueprint_id
    press(listing.action_buttons[button])


def press(button: QWidget) -> None:
    """Click ``button`` from the Qt loop, not from inside the test's task: a modal
    dialog it opens runs a nested loop, which must not run inside a task (as a
    real click never does)."""
    QTimer.singleShot(0, lambda: QTest.mouseClick(button, Qt.MouseButton.LeftButton))


def trigger(window: MainWindow, text: str) -> None:
    """Choose a menu item from the Qt loop (see :func:`press`)."""
    QTimer.singleShot(0, menu_action(window, text).trigger)


async def test_library_rename_duplicate_delete(window: MainWindow, home: Path) -> None:
    conductor = window.bridge.conductor
    child = {"id": "child", "name": "Child", "nodes": [{"id": "a", "type": "set"}]}
    await conductor.save_blueprint(child)
    ran = await conductor.execute(blueprint_id="child")
    caller = {
        "id": "parent",
        "nodes": [{"id": "call", "type": "blueprint.call", "params": {"blueprint_id": "child"}}],
    }
    (home / "blueprints" / "parent.json").write_text(json.dumps(caller))
    window.refresh_lists()
    await until(lambda: {"child", "parent"} <= set(window.library.summaries), what="listed")
    library = window.library
    assert "Child (child)" in library.item(library_row(window, "child")).text()

    seen: list[str] = []
    fill_name_dialog(seen, ["parent"], "kid")
    click_library(window, "child", "Rename")
    await until(lambda: "parent" in window.last_error, what="the refusal, naming parent")
    assert seen[0] == "prefilled|child|Child"
    assert "saved already" in seen[1]
    assert (home / "blueprints" / "child.json").is_file()
    assert window._error_box is not None
    window._error_box.close()

    answers: list[str] = []
    click_box(QMessageBox.StandardButton.Yes, answers)
    click_library(window, "parent", "Delete")
    await until(lambda: "parent" not in library.summaries, what="parent deleted")
    assert "Delete the blueprint parent" in answers[0]

    fill_name_dialog(seen, [], "kid")
    click_library(window, "child", "Rename")
    await until(lambda: "kid" in library.summaries, what="renamed")
    assert "child" not in library.summaries and library.selected_id() == "kid"
    assert sorted(p.name for p in (home / "blueprints").iterdir()) == ["kid.json"]
    assert library.summaries["kid"].name == "Child"
    past = await conductor.list_executions()
    assert [e.blueprint_id for e in past if e.execution_id == ran.execution_id] == ["child"]

    click_library(window, "multi-step-automation", "Open")  # select an example
    assert not library.action_buttons["Rename"].isEnabled()
    assert not library.action_buttons["Delete"].isEnabled()
    menu = library.context_menu()
    assert [a.text() for a in menu.actions() if a.isEnabled()] == ["Open", "Duplicate"]
    copies: list[str] = []
    fill_name_dialog(copies, [], "my-automation")
    click_library(window, "multi-step-automation", "Duplicate")
    await until(lambda: "my-automation" in library.summaries, what="duplicated")
    assert copies[0].startswith("prefilled|multi-step-automation-copy|")
    assert library.summaries["my-automation"].source == "user"
    shot(window, "window-library.png")

    double_click_row(library, library_row(window, "kid"))
    await until(lambda: window.document.path == home / "blueprints" / "kid.json", what="open")
    assert window.document.model.blueprint_id == "kid"
    renamed: list[str] = []
    fill_name_dialog(renamed, [], "kid-2")  # the open blueprint follows its new id
    click_library(window, "kid", "Rename")
    await until(lambda: window.document.model.blueprint_id == "kid-2", what="open one renamed")
    assert window.document.path == home / "blueprints" / "kid-2.json"
    assert not window.document.is_dirty
