"""Named blueprints, driven like a user against a real worker: New gives
``untitled-N``, Save names the blueprint into the library, History shows name and id,
and reopening a past run shows the exact blueprint that ran (issue 12, bug 4)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QListWidget, QMessageBox

from app.states import ExecutionStatus
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.dialog_driver import click_box, fill_name_dialog, menu_action
from tests.renderer.window.test_window_run import badge, shot


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
    menu_action(window, "&New").trigger()
    assert seen and "unsaved changes" in seen[0]


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
    fill_name_dialog(seen, ["../up", "has space"], "flow", name="Flow", description="Adds one")
    menu_action(window, "&Save").trigger()
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
    menu_action(window, "&Save").trigger()  # has a file now: no question
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
    menu_action(window, "&Save").trigger()
    await until(lambda: document.path == home / "blueprints" / "flow-2.json", what="saved 2")
    assert taken[1].startswith("flow|False|") and "saved already" in taken[1]
    assert taken[2].startswith("multi-step-automation|False|") and "example" in taken[2]


async def new_discarding_if_dirty(window: MainWindow) -> None:
    if window.document.is_dirty:
        await new_discarding(window)
    else:
        menu_action(window, "&New").trigger()
