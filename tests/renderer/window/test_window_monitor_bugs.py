"""Issue 12, bug 5, driven like a user: the Log after Resume, the Data tab per run and
per blueprint, and nodes that never started after a crash or a cancel."""

from __future__ import annotations

import os
import signal

from app.blueprint import Blueprint
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_recovery import CHAIN
from tests.renderer.window.test_window_run import badge


def log_seqs(window: MainWindow) -> list[int]:
    """The event numbers the Log tab shows, in order."""
    window.monitor.tabs.setCurrentWidget(window.monitor.log_view)
    text = window.monitor.log_view.toPlainText()
    seqs = [line.split()[1] for line in text.splitlines()]
    return [int(word[1:]) if word.startswith("#") else -1 for word in seqs]


async def recorded_seqs(window: MainWindow, execution_id: str) -> list[int]:
    return [event.seq async for event in window.bridge.conductor.events(execution_id, 0)]


async def crash_while_waiting(window: MainWindow) -> str:
    window.document.load(Blueprint.model_validate(CHAIN))
    window.view.fit_to_view()
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: badge(window, "wait") == BadgeState.RUNNING, what="wait running")
    old_pid = window.bridge.worker_pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    await until(
        lambda: window.bridge.worker_state == "ready" and window.bridge.worker_pid != old_pid,
        what="restarted worker",
    )
    await until(lambda: badge(window, "wait") != BadgeState.RUNNING, what="wait stopped")
    return execution_id


async def test_never_started_nodes_show_not_run_after_a_crash(window: MainWindow) -> None:
    execution_id = await crash_while_waiting(window)
    await until(lambda: badge(window, "last") == BadgeState.NOT_RUN, what="last: not run")
    item = window.scene.node_item("last")
    assert item is not None and item.state_text == "not run"  # no duration
    rows = window.monitor.table_model
    row = next(r for r in range(rows.rowCount()) if rows.cell(r, 0) == "last")
    assert rows.cell(row, 1) == "not run" and rows.cell(row, 4) == ""

    window.crash_banner.buttons["Resume"].click()
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status == "completed", timeout=30, what="resumed to completion")
    await until(lambda: badge(window, "last") == BadgeState.COMPLETED, what="last completed")
    recorded = await recorded_seqs(window, execution_id)
    # The events recorded while the worker was away are old by the clock: the monitor
    # skipped them as if behind a flood, and the Log showed #1-#6, #10-#14.
    await until(lambda: log_seqs(window) == recorded, what=f"the whole log: {recorded}")


async def test_cancel_shows_never_started_nodes_as_not_run(window: MainWindow) -> None:
    window.document.load(Blueprint.model_validate(CHAIN))
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: badge(window, "wait") == BadgeState.RUNNING, what="wait running")
    window.commands.cancel.trigger()
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status == "cancelled", what="cancelled")
    await until(lambda: badge(window, "last") == BadgeState.NOT_RUN, what="last: not run")
    last = window.scene.node_item("last")
    assert last is not None and last.state_text == "not run"
    assert badge(window, "first") == BadgeState.COMPLETED
    assert badge(window, "wait") == BadgeState.CANCELLED  # it had started


async def test_the_data_tab_follows_the_run_and_the_blueprint(window: MainWindow) -> None:
    window.document.load(
        Blueprint.model_validate(
            {"id": "one", "nodes": [{"id": "make", "type": "set", "params": {"value": "first"}}]}
        )
    )
    first = await window.runs.run()
    assert first is not None
    view = window.bridge.model.execution(first)
    assert view is not None
    await until(lambda: view.status == "completed", what="first run done")
    await window.runs.show_node_data(first, "make")
    data = window.monitor.data_view
    assert data.title == "make"
    window.document.set_node_field("make", ("params", "value"), "second")
    second = await window.runs.run()
    assert second is not None
    assert data.title == ""  # a new run: the first run's output is gone at once
    await until(lambda: window.bridge.model.execution(second) is not None)
    await window.runs.show_node_data(second, "make")
    assert data.title == "make"
    window.document.load(
        Blueprint.model_validate(
            {"id": "two", "nodes": [{"id": "other", "type": "set", "params": {"value": 2}}]}
        )
    )
    assert data.title == ""  # another blueprint: not the old one's node
