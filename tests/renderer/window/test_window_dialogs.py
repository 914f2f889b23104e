"""The run-inputs dialog, the gave-up banner and live validation."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.blueprint import InputSpec
from renderer.main_window import MainWindow
from renderer.run_dialog import RunDialog
from tests.renderer.window.conftest import until


def test_inputs_dialog_builds_an_editor_per_type(qtbot: QtBot) -> None:
    dialog = RunDialog(
        {
            "url": InputSpec(type="string", default="http://x"),
            "count": InputSpec(type="integer", default=3),
            "ratio": InputSpec(type="number", default=0.5),
            "dry": InputSpec(type="boolean", default=True),
            "body": InputSpec(type="object", default={"a": 1}),
        }
    )
    qtbot.addWidget(dialog)
    assert dialog.values() == {
        "url": "http://x",
        "count": 3,
        "ratio": 0.5,
        "dry": True,
        "body": {"a": 1},
    }
    body = dialog.editors["body"]
    body.setText("{not json")  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="body"):
        dialog.values()
    dialog._accept()
    assert "body" in dialog.error.text()
    assert dialog.result() == 0


async def test_problems_show_while_editing(window: MainWindow) -> None:
    window.document.new("editing")
    window.document.add_node("delay", node_id="wait", params={"seconds": "soon"})
    await until(lambda: window.problems_list.count() > 0, what="problems listed")
    assert window.document.node_problems("wait")
    window.document.undo_stack.undo()
    await until(lambda: window.problems_list.count() == 0, what="problems cleared")


async def test_gave_up_banner(window: MainWindow) -> None:
    window.runs.worker_state_changed("gave_up", "5 restarts in 60 s")
    assert window.crash_banner.isVisible()
    assert "gave up" in window.crash_banner.label.text()
