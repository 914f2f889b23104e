"""Simulate failure: a node's right-click menu runs the blueprint with that node
failing on purpose, against a real worker; History marks the run as simulated."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from app.blueprint import Blueprint
from app.states import ExecutionStatus
from renderer.main_window import MainWindow
from renderer.side_lists import SIMULATED
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_pins import click_node


def load_pipeline(window: MainWindow) -> None:
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "simulated",
                "nodes": [
                    {"id": "fetch", "type": "set", "params": {"value": 1}, "timeout": 0.5},
                    {"id": "save", "type": "set", "params": {"value": "{{ input }}"}},
                ],
                "edges": [{"source": "fetch", "target": "save"}],
                "ui": {"positions": {"fetch": [0, 0], "save": [260, 0]}},
            }
        )
    )
    window.view.fit_to_view()


def node_menu(window: MainWindow, node_id: str) -> QMenu:
    """The node's right-click menu, as a user opens it on its card."""
    item = window.scene.node_item(node_id)
    assert item is not None
    centre = item.sceneBoundingRect().center()
    local = window.view.mapFromScene(centre)
    return window.view.menus.menu_at(centre, window.view.viewport().mapToGlobal(local))


def entry(menu: QMenu, text: str) -> QAction:
    found = [action for action in menu.actions() if action.text() == text]
    assert found, [action.text() for action in menu.actions()]
    return found[0]


async def test_simulate_failure_runs_with_the_node_failing(window: MainWindow) -> None:
    load_pipeline(window)
    click_node(window, "save")
    submenu = entry(node_menu(window, "save"), "Simulate failure").menu()
    assert isinstance(submenu, QMenu)
    submenu.aboutToShow.emit()
    timeout = entry(submenu, "Timeout")
    assert not timeout.isEnabled() and "no timeout" in timeout.toolTip()  # save has none

    click_node(window, "fetch")
    submenu = entry(node_menu(window, "fetch"), "Simulate failure").menu()
    assert isinstance(submenu, QMenu)
    submenu.aboutToShow.emit()
    assert entry(submenu, "Timeout").isEnabled()
    entry(submenu, "Error").trigger()
    await until(lambda: window.runs.current is not None, what="a run started")
    execution_id = window.runs.current
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status.is_terminal, what="run finished")
    assert view.status is ExecutionStatus.FAILED
    result = await window.bridge.conductor.get_execution(execution_id)
    error = result.nodes["fetch"].error
    assert error is not None and error.type == "InjectedFaultError"
    assert result.config["inject"] == {"fetch": "error"}
    assert result.nodes["save"].status.value == "cancelled"

    def history_row() -> str:
        ids = window.history.execution_ids()
        item = window.history.item(ids.index(execution_id)) if execution_id in ids else None
        return "" if item is None else item.text()

    await until(lambda: SIMULATED in history_row(), what="History marks the run")
    assert f"failed{SIMULATED}" in history_row()
    window.history.filter_edit.setText("simulated")
    assert window.history.execution_ids(visible_only=True) == [execution_id]
