"""Pause in the window against a real spawned worker: the button beside Cancel and
Resume is enabled while the shown execution runs; Resume continues a paused run."""

from __future__ import annotations

from PySide6.QtWidgets import QToolBar

from app.blueprint import Blueprint
from app.states import ExecutionStatus, NodeStatus
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until


def build_slow(window: MainWindow, seconds: float = 0.8) -> None:
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "slow-then-quick",
                "nodes": [
                    {"id": "first", "type": "delay", "params": {"seconds": seconds}},
                    {"id": "second", "type": "set", "params": {"value": "done"}},
                ],
            }
        )
    )


async def test_pause_is_enabled_only_while_the_shown_execution_runs(window: MainWindow) -> None:
    pause = window.commands.pause
    toolbar = window.findChild(QToolBar, "run-toolbar")
    assert isinstance(toolbar, QToolBar)
    shown = [a.text() for a in toolbar.actions()]
    assert shown.index(pause.text()) == shown.index(window.commands.cancel.text()) + 1
    assert not pause.isEnabled()
    build_slow(window, 0.5)
    execution_id = await window.runs.run()
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(pause.isEnabled, what="pause enabled while running")
    await until(lambda: view.status is ExecutionStatus.COMPLETED, what="completed")
    await until(lambda: not pause.isEnabled(), what="pause disabled once it ended")


async def test_pause_then_resume_from_the_window(window: MainWindow) -> None:
    build_slow(window, 3.0)  # long enough that the pause lands first on a loaded machine
    execution_id = await window.runs.run()
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status is ExecutionStatus.RUNNING, what="running")
    await until(window.commands.pause.isEnabled, what="pause enabled (the next repaint)")
    window.commands.pause.trigger()
    await until(lambda: view.status is ExecutionStatus.PAUSED, what="paused in the monitor")
    await until(  # the label repaints on the monitor's next frame
        lambda: "paused" in window.monitor.status_label.text(), what="paused in the label"
    )
    await until(lambda: not window.commands.pause.isEnabled(), what="pause disabled")
    await until(
        lambda: view.nodes["first"].status is NodeStatus.COMPLETED, what="first node finished"
    )
    assert view.status is ExecutionStatus.PAUSED
    assert view.nodes["second"].status is NodeStatus.PENDING  # no new node started
    window.commands.resume.trigger()
    await until(lambda: view.status is ExecutionStatus.COMPLETED, what="completed after resume")
    item = window.scene.node_item("second")
    assert item is not None
    await until(lambda: item.state == BadgeState.COMPLETED, what="second completed on canvas")
