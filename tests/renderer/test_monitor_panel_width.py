"""The monitor's status line never widens the window (found in the Xvfb trial).

A blueprint saved with a 197-character id made the main window 2,069 px wide on a
1,400 px screen, pushing the inspector off-screen after the first run.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.states import ExecutionStatus
from renderer.monitor.monitor_model import ExecutionView
from renderer.monitor.monitor_panel import MonitorPanel


def test_a_very_long_blueprint_id_does_not_widen_the_monitor(qtbot: QtBot) -> None:
    panel = MonitorPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 400)
    panel.show()
    qtbot.waitExposed(panel)
    before = panel.minimumSizeHint().width()
    long_id = "branchy-" + "a" * 190
    view = ExecutionView("f5679867-0000-0000-0000-000000000000", long_id)
    view.status = ExecutionStatus.COMPLETED
    panel.show_execution(view)
    panel.add_execution(view.execution_id, f"{view.execution_id[:8]} {long_id}")
    QApplication.processEvents()
    panel.layout().activate()
    assert panel.minimumSizeHint().width() <= max(before, 900)
    assert panel.sizeHint().width() <= 1000
    assert long_id in panel.status_label.toolTip()
    panel.close()
