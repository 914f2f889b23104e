"""Issue 12 leftovers, driven like a user: reopening a blueprint showed "not run" on
every node while the monitor still showed its last run, and Run from here marked
every node when no run of the blueprint was shown to reuse."""

from __future__ import annotations

import json
from pathlib import Path

from app.blueprint import Blueprint
from app.states import ExecutionStatus
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import badge


def chain(blueprint_id: str) -> dict[str, object]:
    return {
        "id": blueprint_id,
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": {"n": 1}}},
            {"id": "last", "type": "log", "params": {"message": "done"}},
        ],
    }


async def run_to_the_end(window: MainWindow) -> str:
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(
        lambda: (
            (v := window.bridge.model.execution(execution_id)) is not None
            and v.status is ExecutionStatus.COMPLETED
        ),
        what=f"{execution_id} completed",
    )
    return execution_id


async def test_reopening_a_blueprint_shows_the_shown_runs_states(
    window: MainWindow, tmp_path: Path
) -> None:
    mine, other = tmp_path / "mine.json", tmp_path / "other.json"
    mine.write_text(json.dumps(chain("mine")))
    other.write_text(json.dumps(chain("other")))
    assert window.open_file(mine)
    assert [badge(window, n) for n in ("first", "last")] == [None, None]  # never run
    execution_id = await run_to_the_end(window)
    await until(lambda: badge(window, "last") == BadgeState.COMPLETED, what="last completed")

    assert window.open_file(other)  # the monitor still shows mine's run: no badge here
    assert window.runs.current == execution_id
    assert [badge(window, n) for n in ("first", "last")] == [None, None]

    assert window.open_file(mine)  # File → Open again: the run's states, not "not run"
    assert [badge(window, n) for n in ("first", "last")] == [BadgeState.COMPLETED] * 2
    item = window.scene.node_item("last")
    assert item is not None and item.state_text.startswith("completed")

    window.library_control.new_document()
    assert window.document.model.node_ids() == []
    window.document.load(Blueprint.model_validate(chain("mine")))  # e.g. Library → Open
    assert badge(window, "first") == BadgeState.COMPLETED


async def test_run_from_here_without_a_reusable_run_marks_nothing_and_says_why(
    window: MainWindow,
) -> None:
    window.document.load(Blueprint.model_validate(chain("elsewhere")))
    await run_to_the_end(window)  # the shown run is another blueprint's
    window.document.load(Blueprint.model_validate(chain("never-run")))
    window.scene.select_nodes(["last"])
    await until(window.commands.run_from_here.isEnabled, what="Run from here enabled")
    window.commands.run_from_here.trigger()
    items = [window.scene.node_item(n) for n in ("first", "last")]
    assert [item is not None and item.will_run for item in items] == [False, False]
    message = window.statusBar().currentMessage()
    assert "no run of never-run is shown" in message, message
