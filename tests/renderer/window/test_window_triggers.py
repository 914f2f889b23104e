"""The Triggers panel against a real worker: it lists the data dir's triggers with
their state, its switch turns one off in the store, and Fire now runs it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem
from pytestqt.qtbot import QtBot

from app.states import ExecutionStatus
from app.triggers import FireOutcome, TriggerState
from tests.renderer.window.conftest import open_window, until
from tests.renderer.window.test_window_run import shot

TID = "nightly:three"


async def test_the_triggers_panel_lists_switches_and_fires(qtbot: QtBot, home: Path) -> None:
    folder = home / "blueprints"
    folder.mkdir()
    blueprint = {
        "id": "nightly",
        "nodes": [{"id": "n", "type": "set", "params": {"value": "{{ trigger.name }}"}}],
        "triggers": [{"kind": "schedule", "name": "three", "cron": "0 3 * * *"}],
    }
    (folder / "nightly.json").write_text(json.dumps(blueprint))
    window = await open_window(qtbot, home)
    try:
        control = window.triggers_control
        panel = control.panel
        control.refresh()
        await until(lambda: panel.row_of(TID) is not None, what="the trigger listed")
        row = panel.row_of(TID)
        assert row is not None
        switch = panel.item(row, 0)
        assert switch is not None and switch.checkState() == Qt.CheckState.Checked
        # The worker's runtime arms the schedule and records its next fire.
        async with asyncio.timeout(30):
            while panel.triggers[TID].next_fire_at is None:
                control.refresh()
                await asyncio.sleep(0.3)
        assert panel.item(row, 3).text() != "-"  # type: ignore[union-attr]

        control.dock.raise_()
        shot(window, "window-triggers.png")
        switch.setCheckState(Qt.CheckState.Unchecked)  # as a click does
        await until(lambda: panel.triggers[TID].state is TriggerState.DISABLED, what="turned off")
        listed = await window.bridge.conductor.triggers.list()
        assert listed[0].state is TriggerState.DISABLED

        panel.selectRow(panel.row_of(TID) or 0)
        control.fire_button.click()
        await until(lambda: panel.triggers[TID].last_outcome is FireOutcome.STARTED, what="a fire")
        assert "fired" in window.statusBar().currentMessage()
        done = ExecutionStatus.COMPLETED.value  # "Last run" says how the run ended
        for _ in range(150):
            if panel.triggers[TID].last_status == done:
                break
            control.refresh()  # what its timer does every few seconds
            await asyncio.sleep(0.1)
        assert panel.triggers[TID].last_status == done
        row = panel.row_of(TID)
        assert row is not None and done in (panel.item(row, 4) or QTableWidgetItem()).text()
    finally:
        await window.shutdown()
