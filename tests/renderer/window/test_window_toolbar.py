"""Issue 12, bug 7: the toolbar's actions are enabled only when they can act (they
were never disabled: Cancel with nothing running did nothing, silently)."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolButton

from app.states import ExecutionStatus
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_pause import build_slow


def enabled(window: MainWindow) -> set[str]:
    """The toolbar buttons a user can press now, by their text."""
    buttons = [
        b for b in window.findChildren(QToolButton) if isinstance(b.defaultAction(), QAction)
    ]
    return {b.defaultAction().text() for b in buttons if b.isEnabled() and b.isVisible()}


async def test_toolbar_actions_follow_what_can_be_done(window: MainWindow) -> None:
    assert enabled(window) == set()  # an empty canvas: nothing to run, nothing running
    build_slow(window, 3.0)
    assert enabled(window) == {"▶ Run"}
    window.scene.select_nodes(["second"])
    node_runs = {"⤓ Run from here", "Run this node", "Run up to here"}  # one node selected
    assert enabled(window) == {"▶ Run", *node_runs}
    window.scene.select_nodes([])
    execution_id = await window.runs.run()
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status is ExecutionStatus.RUNNING, what="running")
    await until(lambda: enabled(window) == {"▶ Run", "■ Cancel", "‖ Pause"}, what="running")
    window.commands.pause.trigger()
    await until(
        lambda: enabled(window) == {"▶ Run", "■ Cancel", "↻ Resume"}, what="paused: resumable"
    )
    window.commands.cancel.trigger()
    await until(lambda: view.status is ExecutionStatus.CANCELLED, what="cancelled")
    await until(lambda: enabled(window) == {"▶ Run", "↻ Resume"}, what="cancelled: resumable")
    window.document.new()
    await until(lambda: "▶ Run" not in enabled(window), what="nothing to run again")
