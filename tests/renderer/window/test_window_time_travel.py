"""Time travel in the real window: scrub a finished run and the canvas shows the past."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.states import ExecutionStatus
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import badge, build_fan, shot


async def test_scrubbing_a_finished_run_replays_the_canvas(window: MainWindow) -> None:
    window.resize(1400, 900)
    build_fan(window, seconds=0.2)
    execution_id = await window.runs.run()
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status == ExecutionStatus.COMPLETED, what="run completed")
    travel = window.runs.travel
    bar = window.monitor.time_travel_bar
    await until(lambda: travel.replay is not None, what="time travel attached")
    await until(
        lambda: travel.replay is not None and travel.replay.indexed == view.last_seq,
        what="the whole log indexed",
    )
    total = view.last_seq
    assert bar.isEnabled() and bar.slider.maximum() == total
    assert bar.live.isChecked()

    # Before the first event: nothing has run.
    bar.slider.setValue(0)
    await travel.shown()
    assert travel.position == 0 and not bar.live.isChecked()
    assert all(badge(window, n) in (None, BadgeState.PENDING) for n in ("start", "join"))

    # Step forward node by node: the first node to end is start; join ends last.
    QTest.mouseClick(bar.forward_node, Qt.MouseButton.LeftButton)
    await travel.shown()
    assert badge(window, "start") == BadgeState.COMPLETED
    assert badge(window, "join") != BadgeState.COMPLETED
    assert "start → completed" in bar.label.text()
    first_end = travel.position
    assert first_end is not None and 0 < first_end < total

    # One event back: start is running again (its running event precedes its end).
    QTest.mouseClick(bar.back, Qt.MouseButton.LeftButton)
    await travel.shown()
    assert travel.position == first_end - 1
    assert badge(window, "start") == BadgeState.RUNNING
    rows = window.monitor.table_model
    table = {rows.cell(r, 0): rows.cell(r, 1) for r in range(rows.rowCount())}
    assert table["start"] == "running" and table["join"] == "pending"

    # A moment where slow still runs while quick is done (the branches overlapped).
    overlapping = []
    for seq in range(total + 1):
        bar.slider.setValue(seq)
        await travel.shown()
        if badge(window, "quick") == BadgeState.COMPLETED and badge(window, "slow") == (
            BadgeState.RUNNING
        ):
            overlapping.append(seq)
    assert overlapping, "no position showed quick done while slow ran"
    bar.slider.setValue(overlapping[0])
    await travel.shown()
    shot(window, "window-time-travel.png")

    # Live again: the final state.
    QTest.mouseClick(bar.live, Qt.MouseButton.LeftButton)
    assert not travel.active and bar.live.isChecked()
    assert all(badge(window, n) == BadgeState.COMPLETED for n in ("start", "slow", "quick", "join"))
    assert bar.slider.value() == total


async def test_a_live_run_is_indexed_only_when_the_scrubber_is_used(window: MainWindow) -> None:
    """During a run the log is not read twice; touching the scrubber reads it then."""
    build_fan(window, seconds=3.0)
    execution_id = await window.runs.run()
    assert execution_id is not None
    travel = window.runs.travel
    bar = window.monitor.time_travel_bar
    await until(lambda: badge(window, "slow") == BadgeState.RUNNING, what="slow running")
    view = window.bridge.model.execution(execution_id)
    assert view is not None and travel.replay is not None
    await until(lambda: bar.slider.maximum() >= view.last_seq >= 4, what="live range")
    assert travel.replay.indexed == 0  # nothing read yet
    bar.slider.setValue(2)  # the user drags: the log is read now
    await travel.shown()
    assert travel.position == 2 and travel.replay.indexed >= 2
    assert badge(window, "join") in (None, BadgeState.PENDING)
    # While a past moment is shown, live updates do not repaint it.
    await until(lambda: view.status == ExecutionStatus.COMPLETED, timeout=60, what="done")
    assert badge(window, "join") != BadgeState.COMPLETED
    travel.back_to_live()
    assert badge(window, "join") == BadgeState.COMPLETED
    await until(
        lambda: travel.replay is not None and travel.replay.indexed == view.last_seq,
        what="the rest indexed once the run ended",
    )
