"""A double-click on Run starts one run (the Xvfb trial started the blueprint twice).

Driven through the toolbar's Run action against a real worker; the run is slow
enough (a 1 s delay) to still be live when the repeated presses arrive.
"""

from __future__ import annotations

from app.states import ExecutionStatus
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import build_fan


def _runs(window: MainWindow) -> list[str]:
    picker = window.monitor.picker
    return [str(picker.itemData(row)) for row in range(picker.count())]


async def test_a_double_click_on_run_starts_the_blueprint_once(window: MainWindow) -> None:
    build_fan(window, seconds=1.0)
    window.commands.run.trigger()
    window.commands.run.trigger()  # while the first press is still starting
    await until(lambda: window.runs.current is not None, what="a run")
    first = window.runs.current
    assert first is not None
    await until(lambda: _ended(window, first), what="the run to end")
    assert _runs(window) == [first]
    window.commands.run.trigger()  # after the run ended: a new run
    await until(lambda: len(_runs(window)) == 2, what="a second run")
    second = window.runs.current
    assert second is not None and second != first
    await until(lambda: _ended(window, second), what="the second run to end")


def _ended(window: MainWindow, execution_id: str) -> bool:
    view = window.bridge.model.execution(execution_id)
    return view is not None and view.status is ExecutionStatus.COMPLETED
