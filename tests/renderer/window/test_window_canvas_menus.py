"""Quick add, the node menu's window actions and the shortcut list, in the real window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPainter
from PySide6.QtTest import QTest

from renderer.actions import show_shortcuts
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import activate, until


async def test_tab_on_an_empty_canvas_adds_a_node_from_the_worker_catalog(
    window: MainWindow,
) -> None:
    await activate(window)
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

    from tests.renderer.window.test_window_run import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    menu.popup(window.view.viewport().mapToGlobal(local))
    await until(menu.isVisible, what="node menu shown")
    picture = window.grab()
    painter = QPainter(picture)
    painter.drawPixmap(window.mapFromGlobal(menu.mapToGlobal(QPoint(0, 0))), menu.grab())
    painter.end()
    assert picture.save(str(SHOTS / "window-node-menu.png"))
    menu.close()

    dialog = show_shortcuts(window)
    await until(dialog.isVisible, what="shortcuts shown")
    assert dialog.grab().save(str(SHOTS / "window-shortcuts.png"))
    rows = {does: keys for keys, does in dialog.rows()}
    assert rows["▶ Run"] == window.commands.run.shortcut().toString(
        window.commands.run.shortcut().SequenceFormat.NativeText
    )
    assert "Tab" in {keys for keys, _does in dialog.rows()}
    assert all(keys for keys, _does in dialog.rows())
    dialog.close()
    await until(lambda: not dialog.isVisible(), what="shortcuts closed")


async def test_quick_add_notes_and_minimap_shown_together(window: MainWindow) -> None:
    """The picture for the README: a note, the minimap and the picker over the canvas."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QPainter

    from tests.renderer.window.test_window_run import SHOTS, build_fan

    window.resize(1400, 900)
    drawn = window.view.minimap.renders
    build_fan(window)
    window.view.notes.add(QPointF(0, -160), "Fan out: slow and quick run side by side")
    window.view.setFocus()
    await until(lambda: window.view.minimap.renders > drawn, what="minimap drawn")
    slow = window.scene.node_item("slow")
    assert slow is not None
    port = slow.output_port(None)
    assert port is not None
    window.view.quick_add.open_at(
        port.scenePos() + QPointF(120, 60),
        window.view.viewport().mapToGlobal(window.view.mapFromScene(port.scenePos())),
    )
    picker = window.view.quick_add.picker
    await until(picker.isVisible, what="picker shown")
    QTest.keyClicks(picker.filter, "js")
    assert picker.visible_entries()
    picture = window.grab()
    painter = QPainter(picture)
    at = window.mapFromGlobal(picker.mapToGlobal(QPoint(0, 0)))
    painter.drawPixmap(at, picker.grab())
    painter.end()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert picture.save(str(SHOTS / "window-quick-add.png"))
    picker.close()
