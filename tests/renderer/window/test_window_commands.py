"""Command palette, History filter, problems → canvas, debug input, dirty markers."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.blueprint import Blueprint
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import activate, until
from tests.renderer.window.test_window_run import badge, build_fan


async def test_ctrl_k_palette_runs_actions_and_adds_nodes(window: MainWindow) -> None:
    await activate(window)
    palette = window.commands.palette
    assert window.commands.command_palette.shortcut().toString() == "Ctrl+K"
    window.commands.command_palette.trigger()
    await until(palette.isVisible, what="palette shown")
    titles = {entry.title: entry.detail for entry in palette.visible_entries()}
    assert titles["▶ Run"] == "Ctrl+R"
    assert "Run with debug" in titles
    assert "Command palette…" not in titles  # it does not offer itself
    assert titles["Add node: Delay"] == "delay"
    assert window.scene.node_item("delay_1") is None

    QTest.keyClicks(palette.filter, "add node delay")
    assert palette.current_entry() is not None
    assert palette.current_entry().title == "Add node: Delay"  # type: ignore[union-attr]
    QTest.keyClick(palette.filter, Qt.Key.Key_Return)
    assert not palette.isVisible()
    added = window.scene.selected_node_ids()
    assert len(added) == 1 and window.document.model.node(added[0]).type == "delay"
    item = window.scene.node_item(added[0])
    assert item is not None
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert item.sceneBoundingRect().adjusted(-40, -40, 40, 40).contains(centre)

    window.commands.command_palette.trigger()
    await until(palette.isVisible, what="palette shown again")
    QTest.keyClicks(palette.filter, "undo")
    palette.run_current()
    assert added[0] not in window.document.model.node_ids()  # Undo ran from the palette


async def test_history_filter_matches_blueprint_and_status(window: MainWindow) -> None:
    build_fan(window, seconds=0.05)
    first = await window.runs.run()
    other = Blueprint.model_validate(
        {"id": "lonely", "name": "Lonely one", "nodes": [{"id": "only", "type": "set"}]}
    )
    window.document.load(other)
    second = await window.runs.run()
    assert first is not None and second is not None
    history = window.history
    await until(
        lambda: {first, second} <= set(history.execution_ids()), what="both runs in history"
    )
    await until(
        lambda: "completed" in (history.item(0).text() + history.item(1).text()),
        what="statuses",
    )
    history.filter_edit.setText("fan")
    assert history.execution_ids(visible_only=True) == [first]
    history.filter_edit.setText("lonely ONE")  # name words, any case
    assert history.execution_ids(visible_only=True) == [second]
    history.filter_edit.setText("nothing-like-this")
    assert history.execution_ids(visible_only=True) == []
    history.filter_edit.clear()
    assert set(history.execution_ids(visible_only=True)) >= {first, second}
    view = window.bridge.model.execution(first)
    assert view is not None
    await until(lambda: view.status == "completed", what="first completed")
    window.refresh_lists()
    history.filter_edit.setText("completed")
    await until(lambda: first in history.execution_ids(visible_only=True), what="status filter")
    history.filter_edit.setText("failed")
    assert first not in history.execution_ids(visible_only=True)


async def test_problem_click_selects_the_node(window: MainWindow) -> None:
    doc = window.document
    doc.new("bad")
    doc.add_node("set", (0, 0), node_id="fine", params={"value": 1})
    doc.add_node("delay", (260, 0), node_id="wait", params={"seconds": "soon"})
    assert await window.runs.run() is None
    problems = window.problems_list
    rows = [r for r in range(problems.count()) if problems.node_of(r) == "wait"]
    assert rows, [problems.item(r).text() for r in range(problems.count())]
    assert window.scene.selected_node_ids() == []
    item = problems.item(rows[0])
    rect = problems.visualItemRect(item)
    QTest.mouseClick(problems.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.scene.selected_node_ids() == ["wait"]
    assert window.inspector.details.isVisible()
    assert not window.inspector.placeholder.isVisible()


async def test_debug_run_shows_the_node_input(window: MainWindow) -> None:
    build_fan(window, seconds=0.05)
    window.commands.run_debug.trigger()
    await until(lambda: window.runs.current is not None, what="debug run started")
    execution_id = window.runs.current
    assert execution_id is not None and execution_id in window.runs.data.debug
    await until(lambda: badge(window, "join") == BadgeState.COMPLETED, what="join completed")
    calls: list[str] = []
    get = window.bridge.conductor.get_execution

    async def counting(execution: str) -> object:
        calls.append(execution)
        return await get(execution)

    window.bridge.conductor.get_execution = counting  # type: ignore[method-assign,assignment]
    data = window.monitor.data_view
    window.scene.select_nodes(["quick"])
    await until(lambda: data.input_model is not None and data.title == "quick", what="input")
    tabs = [data.tabs.tabText(i) for i in range(data.tabs.count())]
    assert "Input" in tabs and "Output" in tabs
    await data.settled()
    model = data.input_model
    assert model is not None
    texts = [str(model.data(model.index(r, 0))) for r in range(model.rowCount())]
    assert "items" in texts  # quick's input is start's output {"items": [1, 2, 3]}
    window.scene.select_nodes(["slow"])
    await until(lambda: data.title == "slow" and data.input_model is not None, what="slow")
    assert calls == [execution_id]  # read once for the finished execution


async def test_plain_run_shows_no_input(window: MainWindow) -> None:
    build_fan(window, seconds=0.05)
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: badge(window, "join") == BadgeState.COMPLETED, what="join completed")
    await window.runs.show_node_data(execution_id, "quick")
    data = window.monitor.data_view
    assert data.title == "quick" and data.input_source is None


async def test_edits_since_the_run_mark_nodes_dirty(window: MainWindow) -> None:
    build_fan(window, seconds=0.05)
    marked: list[set[str]] = []
    show = window.scene.set_dirty_nodes

    def spy(node_ids: Iterable[str]) -> None:
        marked.append(set(node_ids))
        show(node_ids)

    window.scene.set_dirty_nodes = spy  # type: ignore[method-assign]
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: badge(window, "join") == BadgeState.COMPLETED, what="run done")
    assert window.runs.dirty == set()
    window.document.set_node_field("quick", ("params", "value"), "changed")
    assert window.runs.dirty == {"quick"}
    assert marked[-1] == {"quick"}
    window.document.undo_stack.undo()
    assert window.runs.dirty == set()
    assert marked[-1] == set()
    window.document.undo_stack.redo()
    assert window.runs.dirty == {"quick"}
    window.document.move_nodes({"slow": (500.0, 500.0)})  # moving is not a change
    assert window.runs.dirty == {"quick"}
