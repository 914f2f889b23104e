"""Pinned outputs, partial runs and disabled nodes in the window, against a real worker.

Driven as a user would: nodes are selected by clicking them on the canvas, the
node actions are triggered as from their menu, the JSON dialog is typed into, and
the blueprint is saved with Ctrl+S; the saved file and the runs' node states are
checked. Screenshots go to a temp folder (``window-pins.png`` shows a pinned node,
a disabled one and the monitor saying so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.blueprint import Blueprint
from app.states import ExecutionStatus
from renderer.canvas.node_item import DISABLED_OPACITY
from renderer.canvas.state_badge import BadgeState
from renderer.json_dialog import JsonDialog
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import badge, shot


def load_chain(window: MainWindow, path: Path) -> None:
    """a → b → c, each step visible in the numbers; saved to ``path``."""
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "pin-chain",
                "nodes": [
                    {"id": "a", "type": "set", "params": {"value": {"n": 1}}},
                    {"id": "b", "type": "set", "params": {"value": {"n": "{{ input.n + 1 }}"}}},
                    {"id": "c", "type": "set", "params": {"value": {"n": "{{ input.n * 10 }}"}}},
                ],
                "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
                "ui": {"positions": {"a": [0, 0], "b": [260, 0], "c": [520, 0]}},
            }
        )
    )
    window.document.save(path)
    window.view.fit_to_view()


def click_node(window: MainWindow, node_id: str) -> None:
    """A left click on the node's card, as a user selects it."""
    item = window.scene.node_item(node_id)
    assert item is not None
    point = window.view.mapFromScene(item.mapToScene(item.boundingRect().center()))
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.scene.selected_node_ids() == [node_id]


def save_with_keys(window: MainWindow, path: Path) -> dict[str, Any]:
    """File ▸ Save (Ctrl+S; the document has a path), then the file as saved."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    save = next(a for a in menu.actions() if a.text() == "&Save")
    assert save.shortcut().toString() == "Ctrl+S"
    save.trigger()
    assert not window.document.is_dirty
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def show_canvas(window: MainWindow) -> None:
    """A window big enough to read the cards, with the monitor's node table shown."""
    window.resize(1280, 860)
    window.monitor.tabs.setCurrentIndex(0)
    window.view.fit_to_view()


async def finished(window: MainWindow, execution_id: str | None) -> Any:
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status.is_terminal, what="run finished")
    assert view.status is ExecutionStatus.COMPLETED
    return await window.bridge.conductor.get_execution(execution_id)


def state_cell(window: MainWindow, node_id: str) -> str:
    """The node's state as the monitor's table shows it (repainted on its next frame)."""
    table = window.monitor.table_model
    rows = {table.cell(r, 0): table.cell(r, 1) for r in range(table.rowCount())}
    return rows.get(node_id, "")


async def answer_json(text: str, initial: Any = None) -> JsonDialog:
    """Wait for the JSON dialog (showing ``initial``), type ``text`` over it, press OK."""
    found: list[JsonDialog] = []

    def shown() -> bool:
        found[:] = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, JsonDialog) and w.isVisible()
        ]
        return bool(found)

    await until(shown, what="the JSON dialog")
    dialog = found[0]
    shown = dialog.editor.toPlainText()
    assert (json.loads(shown) if shown else None) == initial
    dialog.editor.selectAll()
    QTest.keyClicks(dialog.editor, text)
    click_ok(dialog)
    return dialog


def click_ok(dialog: JsonDialog) -> None:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    QTest.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


async def test_pin_a_nodes_output_run_with_it_and_unpin(window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "chain.json"
    load_chain(window, path)
    click_node(window, "b")
    assert await window.commands.node.pin_output() is False  # nothing run yet: nothing to pin
    assert "No output of 'b'" in window.statusBar().currentMessage()
    assert window.document.model.pins() == {}
    first = await finished(window, await window.runs.run())
    assert first.outputs == {"c": {"n": 20}}

    click_node(window, "b")
    node = window.commands.node
    assert node.pin.isEnabled() and not node.unpin.isEnabled()
    node.pin.trigger()
    await until(lambda: "b" in window.document.model.pins(), what="b pinned")
    item = window.scene.node_item("b")
    assert item is not None and item.pinned
    assert window.document.model.pins() == {"b": {"n": 2}}
    assert node.unpin.isEnabled()

    click_node(window, "b")
    node.pin_json.trigger()
    # It opens on the pin; typed text that is not JSON keeps it open, saying why.
    dialog = await answer_json('{"n": 7', initial={"n": 2})
    assert dialog.isVisible() and "Not JSON" in dialog.error.text()
    QTest.keyClicks(dialog.editor, "}")
    click_ok(dialog)
    await until(lambda: window.document.model.pins() == {"b": {"n": 7}}, what="typed pin")
    saved = save_with_keys(window, path)
    assert saved["ui"]["pins"] == {"b": {"n": 7}}

    pinned = await finished(window, await window.runs.run())
    assert pinned.config["use_pins"] is True  # the window's runs use pins
    assert pinned.outputs == {"c": {"n": 70}}
    await until(lambda: state_cell(window, "b") == "completed · pinned", what="monitor: pinned")
    await until(lambda: "pinned" in item.state_text, what="canvas: pinned")
    show_canvas(window)
    shot(window, "window-pins.png")

    window.document.undo_stack.undo()  # the typed pin goes back to the run's output
    assert window.document.model.pins() == {"b": {"n": 2}}
    click_node(window, "b")
    node.unpin.trigger()
    assert window.document.model.pins() == {}
    assert not item.pinned
    saved = save_with_keys(window, path)
    assert "pins" not in saved["ui"]


async def test_run_this_node_and_run_up_to_here(window: MainWindow, tmp_path: Path) -> None:
    load_chain(window, tmp_path / "chain.json")
    click_node(window, "c")
    node = window.commands.node
    node.run_node.trigger()  # never run: c has no input, so the window asks for it
    await answer_json('{"n": 4}')
    await until(lambda: window.runs.current is not None, what="the lone run")
    alone = await finished(window, window.runs.current)
    assert alone.outputs == {"c": {"n": 40}}
    assert alone.config["only"] == "c" and alone.config["node_input"] == {"n": 4}
    await until(lambda: state_cell(window, "a") == "skipped · not in run", what="a left out")
    await until(lambda: state_cell(window, "b") == "completed · given input", what="b given")

    whole = await finished(window, await window.runs.run())
    click_node(window, "c")
    node.run_node.trigger()  # now b's output comes from the shown run: no question
    await until(lambda: window.runs.current != whole.execution_id, what="the lone run")
    again = await finished(window, window.runs.current)
    assert again.config["reuse_from"] == whole.execution_id
    assert again.outputs == {"c": {"n": 20}}

    click_node(window, "b")
    node.run_up_to.trigger()
    await until(lambda: window.runs.current != again.execution_id, what="the run up to b")
    upto = await finished(window, window.runs.current)
    await until(lambda: state_cell(window, "c") == "skipped · not in run", what="c left out")
    assert upto.outputs == {"b": {"n": 2}}
    await until(lambda: badge(window, "c") == BadgeState.SKIPPED, what="c skipped on canvas")


async def test_disable_and_enable_a_node(window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "chain.json"
    load_chain(window, path)
    click_node(window, "b")
    node = window.commands.node
    assert node.toggle_disabled.text() == "Disable node"
    node.toggle_disabled.trigger()
    item = window.scene.node_item("b")
    assert item is not None
    assert window.document.model.node("b").disabled
    assert item.opacity() == DISABLED_OPACITY  # drawn dimmed
    assert node.toggle_disabled.text() == "Enable node"
    saved = save_with_keys(window, path)
    assert saved["nodes"][1]["disabled"] is True

    result = await finished(window, await window.runs.run())
    assert result.outputs == {"c": {"n": 10}}  # b passed a's output through
    await until(lambda: state_cell(window, "b") == "skipped · disabled", what="b disabled")
    assert result.nodes["b"].output == {"n": 1}
    show_canvas(window)
    shot(window, "window-disabled.png")

    node.toggle_disabled.trigger()
    assert not window.document.model.node("b").disabled and item.opacity() == 1.0
    saved = save_with_keys(window, path)
    assert "disabled" not in saved["nodes"][1]
