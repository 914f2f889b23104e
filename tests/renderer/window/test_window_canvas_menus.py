"""Quick add, the node menu's window actions and the shortcut list, in the real window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from renderer.actions import show_shortcuts
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until


async def test_tab_on_an_empty_canvas_adds_a_node_from_the_worker_catalog(
    window: MainWindow,
) -> None:
    window.activateWindow()
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    picker = window.view.quick_add.picker
    await until(picker.isVisible, what="node picker shown")
    assert len(picker.visible_entries()) == len(window.document.catalog)
    QTest.keyClicks(picker.filter, "delay")
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)
    await until(lambda: not picker.isVisible(), what="picker closed")
    added = window.scene.selected_node_ids()
    assert len(added) == 1 and window.document.model.node(added[0]).type == "delay"
    assert window.document.is_dirty


async def test_node_menu_offers_run_from_here_and_help_lists_shortcuts(
    window: MainWindow,
) -> None:
    node_id = window.document.add_node("delay", (0.0, 0.0))
    item = window.scene.node_item(node_id)
    assert item is not None
    centre = item.sceneBoundingRect().center()
    local = window.view.mapFromScene(centre)
    menu = window.view.menus.menu_at(centre, window.view.viewport().mapToGlobal(local))
    texts = [action.text() for action in menu.actions()]
    assert window.commands.run_from_here.text() in texts
    assert {"Rename…", "Duplicate", "Delete", "Open editor…"} <= set(texts)

    dialog = show_shortcuts(window)
    await until(dialog.isVisible, what="shortcuts shown")
    rows = {does: keys for keys, does in dialog.rows()}
    assert rows["▶ Run"] == window.commands.run.shortcut().toString(
        window.commands.run.shortcut().SequenceFormat.NativeText
    )
    assert "Tab" in {keys for keys, _does in dialog.rows()}
    assert all(keys for keys, _does in dialog.rows())
    dialog.close()
    QApplication.processEvents()
