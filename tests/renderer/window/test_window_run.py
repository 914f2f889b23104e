"""The window against a real spawned worker: run, watch, cancel, fail, history."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from app.blueprint import Blueprint
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until

#: Where the window's screenshots go: a temp folder, never the tracked docs/screenshots/
#: (``python -m tests.renderer.screenshot`` regenerates those on purpose).
SHOTS = Path(os.environ.get("CONDUCTOR_SCREENSHOTS") or tempfile.gettempdir()) / "conductor-shots"


def build_fan(window: MainWindow, seconds: float = 0.3) -> None:
    """start → (slow, quick) → join: two branches, so parallelism shows."""
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "fan",
                "name": "Fan out and join",
                "nodes": [
                    {"id": "start", "type": "set", "params": {"value": {"items": [1, 2, 3]}}},
                    {"id": "slow", "type": "delay", "params": {"seconds": seconds}},
                    {"id": "quick", "type": "set", "params": {"value": "{{ input }}"}},
                    {"id": "join", "type": "merge"},
                ],
                "edges": [
                    {"source": "start", "target": "slow"},
                    {"source": "start", "target": "quick"},
                    {"source": "slow", "target": "join"},
                    {"source": "quick", "target": "join"},
                ],
            }
        )
    )
    window.view.fit_to_view()


def badge(window: MainWindow, node_id: str) -> BadgeState | None:
    item = window.scene.node_item(node_id)
    assert item is not None
    return item.state


def shot(window: MainWindow, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SHOTS / name))
    assert (SHOTS / name).stat().st_size > 1_000


async def test_run_shows_badges_and_monitor_rows(window: MainWindow) -> None:
    build_fan(window)
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(
        lambda: badge(window, "join") == BadgeState.COMPLETED, what="join completed on canvas"
    )
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status == "completed", what="execution completed")
    table = window.monitor.table_model
    rows = {table.cell(r, 0): table.cell(r, 1) for r in range(table.rowCount())}
    assert rows == dict.fromkeys(("start", "slow", "quick", "join"), "completed")
    assert all(badge(window, n) == BadgeState.COMPLETED for n in rows)
    assert "completed" in window.monitor.status_label.text()
    bars = window.monitor.timeline.bars()
    assert {name for name, *_ in bars} == set(rows)
    slow = next(b for b in bars if b[0] == "slow")
    quick = next(b for b in bars if b[0] == "quick")
    assert quick[1] < slow[2]  # quick started before slow finished: they overlapped
    await window.runs.show_node_data(execution_id, "join")
    assert "slow" in tree_texts(window)
    window.monitor.tabs.setCurrentIndex(1)
    shot(window, "window-run.png")


def tree_texts(window: MainWindow) -> list[str]:
    """The keys and values on the top level of the Data tab's tree."""
    model = window.monitor.data_view.tree_model
    assert model is not None
    return [
        str(model.data(model.index(row, column)))
        for row in range(model.rowCount())
        for column in range(model.columnCount())
    ]


async def test_invalid_blueprint_is_refused(window: MainWindow) -> None:
    window.document.new("bad")
    window.document.add_node("delay", node_id="wait", params={"seconds": "soon"})
    assert await window.runs.run() is None
    assert window.document.problems
    assert window.problems_list.count() >= 1
    assert window.bridge.model.take_dirty() == set()


async def test_cancel_mid_run(window: MainWindow) -> None:
    build_fan(window, seconds=30)
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: badge(window, "slow") == BadgeState.RUNNING, what="slow running")
    assert await window.runs.cancel() is True  # type: ignore[misc]
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status == "cancelled", timeout=15, what="cancelled")
    await until(lambda: badge(window, "slow") == BadgeState.CANCELLED, what="slow cancelled")


async def test_failed_node_shows_error_in_data_tab(window: MainWindow) -> None:
    doc = window.document
    doc.new("failing")
    doc.add_node("set", (0, 0), node_id="prepare", params={"value": {"n": 1}})
    doc.add_node(
        "shell.command",
        (260, 0),
        node_id="explode",
        params={"argv": ["sh", "-c", "echo 'disk on fire' >&2; exit 3"]},
    )
    doc.add_node("log", (520, 0), node_id="report", params={"message": "done"})
    window.view.fit_to_view()
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: badge(window, "explode") == BadgeState.FAILED, what="explode failed")
    window.scene.select_nodes(["explode"])
    await until(
        lambda: "disk on fire" in window.monitor.data_view.error_text.toPlainText(),
        what="error in the data tab",
    )
    shot(window, "window-failed-node.png")


async def test_open_past_execution_from_history(window: MainWindow) -> None:
    build_fan(window, seconds=0.05)
    summary = await window.bridge.conductor.save_blueprint(window.document.to_blueprint())
    assert summary.id == "fan"
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: execution_id in window.history.execution_ids(), what="history row")
    window.new_document()
    assert window.scene.node_item("join") is None
    await window.runs.open_execution(execution_id)
    assert window.document.model.blueprint_id == "fan"
    assert badge(window, "join") == BadgeState.COMPLETED
    assert window.monitor.execution_id == execution_id
    window.history.setCurrentRow(0)
    shot(window, "window-history.png")


async def test_run_from_here_highlights_and_reuses(window: MainWindow) -> None:
    build_fan(window, seconds=0.05)
    first = await window.runs.run()
    assert first is not None
    await until(lambda: badge(window, "join") == BadgeState.COMPLETED, what="first run")
    window.scene.select_nodes(["quick"])
    highlighted: list[set[str]] = []
    show = window.scene.set_will_run

    def spy(node_ids: Iterable[str]) -> None:
        highlighted.append(set(node_ids))
        show(node_ids)

    window.scene.set_will_run = spy  # type: ignore[method-assign]
    started = window.runs.run_from_here()
    assert started is not None
    assert highlighted[0] == {"quick", "join"}
    second = await started
    assert second is not None and second != first
    view = window.bridge.model.execution(second)
    assert view is not None
    await until(lambda: view.status == "completed", what="partial run completed")
    assert window.runs.current == second


async def test_a_run_started_elsewhere_opens_with_its_log(window: MainWindow) -> None:
    """A run the window never followed (a trigger's, a child's, another process's)
    opened from History shows its recorded log, not "0 events"."""
    blueprint = {
        "id": "elsewhere",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": 1}},
            {"id": "b", "type": "log", "params": {"message": "hello from elsewhere"}},
        ],
    }
    result = await window.bridge.conductor.execute(blueprint=blueprint)  # not followed
    assert result.last_seq is not None and result.last_seq > 4
    await window.runs.open_execution(result.execution_id)
    view = window.bridge.model.execution(result.execution_id)
    assert view is not None
    await until(lambda: len(view.log) == result.last_seq, what="the recorded log read back")
    assert [event.seq for event in view.log] == list(range(1, result.last_seq + 1))
    assert view.events_seen == result.last_seq


async def test_history_shows_runs_the_window_did_not_start(window: MainWindow) -> None:
    """A trigger's run or another process's appears in History on the next refresh of
    the Triggers panel (every few seconds), not only after the window's next run."""
    control = window.triggers_control
    control.refresh()
    await until(lambda: control._newest is not None, what="the first look")
    blueprint = {"id": "unseen", "nodes": [{"id": "a", "type": "set", "params": {"value": 1}}]}
    result = await window.bridge.conductor.execute(blueprint=blueprint)  # not followed
    assert result.execution_id not in window.history.execution_ids()
    control.refresh()  # what its timer does
    await until(lambda: result.execution_id in window.history.execution_ids(), what="listed")


async def test_showing_another_blueprints_run_clears_the_canvas_badges(
    window: MainWindow,
) -> None:
    """With unsaved edits the canvas keeps its blueprint while History shows another
    blueprint's run: its badges (of this blueprint's last run) must go, not stay beside
    a monitor that shows the other run."""
    build_fan(window, seconds=0.05)
    first = await window.runs.run()
    assert first is not None
    await until(lambda: badge(window, "join") == BadgeState.COMPLETED, what="first run")
    window.document.set_node_field("quick", ("params", "value"), "{{ input }} edited")
    assert window.document.is_dirty
    other = await window.bridge.conductor.execute(
        blueprint={"id": "other", "nodes": [{"id": "join", "type": "set", "params": {"value": 1}}]}
    )
    await window.runs.open_execution(other.execution_id)
    assert window.document.model.blueprint_id == "fan"  # unsaved edits: not replaced
    assert window.monitor.execution_id == other.execution_id
    assert badge(window, "join") is None and badge(window, "start") is None
