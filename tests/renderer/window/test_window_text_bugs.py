"""Issue 12, bug 7: text a user must be able to read — the Problems box has a title
and whole messages, long text is elided with its whole self in a tooltip, and the
Log shows an error as its message, type and node (it showed the recorded dict)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.blueprint import Blueprint
from app.states import ExecutionStatus
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until

LONG = "a rather long name that a user typed to say what this step does " * 5


async def test_the_problems_box_has_a_title_and_whole_messages(window: MainWindow) -> None:
    problems = window.problems_list
    assert "Problems" in problems.title.text() and "none" in problems.title.text()
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "broken",
                "nodes": [
                    {"id": "say", "type": "log", "params": {"message": "{{ nodes.nowhere.x }}"}}
                ],
            }
        )
    )
    await window.validate()
    await until(lambda: problems.count() > 0, what="a problem listed")
    assert problems.title.text() == f"<b>Problems</b> ({problems.count()})"
    assert problems.wordWrap()
    item = problems.item(0)
    assert item is not None
    assert str(window.document.problems[0]) in item.toolTip()
    assert "nowhere" in item.toolTip()


async def test_the_log_shows_an_error_as_its_message(window: MainWindow, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "fails",
                "nodes": [{"id": "read", "type": "file.read", "params": {"path": str(missing)}}],
            }
        )
    )
    execution_id = await window.runs.run()
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status is ExecutionStatus.FAILED, what="failed")
    window.monitor.tabs.setCurrentWidget(window.monitor.log_view)
    log = window.monitor.log_view
    await until(lambda: "node read failed" in log.toPlainText(), what="the failure logged")
    line = next(x for x in log.toPlainText().splitlines() if "node read failed" in x)
    assert "{'type'" not in line and "error=" not in line, line
    assert "missing.json" in line and "(node read" in line, line


async def test_long_text_is_elided_with_a_tooltip(window: MainWindow) -> None:
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "long-names",
                "name": LONG,
                "nodes": [{"id": "make", "name": LONG, "type": "set", "params": {"value": LONG}}],
            }
        )
    )
    card = window.scene.node_item("make")
    assert card is not None and LONG in card.toolTip() and "make · " in card.toolTip()
    execution_id = await window.runs.run()
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status is ExecutionStatus.COMPLETED, what="completed")
    await until(lambda: "completed" in card.toolTip(), what="the badge in the tooltip")
    await until(lambda: execution_id in window.history.execution_ids(), what="history row")
    row = window.history.item(window.history.execution_ids().index(execution_id))
    assert row is not None and LONG in row.toolTip() and execution_id in row.toolTip()

    await window.runs.show_node_data(execution_id, "make")
    tree = window.monitor.data_view.tree_model
    assert tree is not None
    cell = tree.index(0, 1)
    assert cell.isValid()
    shown = tree.data(cell, Qt.ItemDataRole.DisplayRole)
    assert len(shown) < len(LONG)  # cut in the cell…
    assert tree.data(cell, Qt.ItemDataRole.ToolTipRole) == LONG  # …whole in its tooltip
