"""Issue 12, bug 6, driven like a user: a refused wire says why where it was dropped,
and "unsaved changes" is asked once when a Library entry is double-clicked."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until


async def test_a_backward_wire_in_a_sequence_is_refused_visibly(window: MainWindow) -> None:
    """Nodes dropped in order run as a chain; a wire from the last back to the first
    closes a loop through it. The preview looked valid, and the drop did nothing visible."""
    document = window.document
    for node_id, x in (("a", 0.0), ("b", 260.0), ("c", 520.0)):
        document.add_node("set", (x, 0.0), node_id=node_id, params={"value": 1})
    window.view.fit_to_view()
    steps = document.undo_stack.count()
    view, scene = window.view, window.scene
    last, first = scene.node_item("c"), scene.node_item("a")
    assert last is not None and first is not None
    port = last.output_port(None)
    assert port is not None
    start = view.mapFromScene(port.scenePos())
    end = view.mapFromScene(first.sceneBoundingRect().center())
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, start + (end - start) * 0.5)
    QTest.mouseMove(viewport, end)
    shown = scene.wire_refusal
    assert shown is not None and "loop" in shown  # the preview says it before the drop
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    dropped = scene.drop_note.text
    assert dropped is not None and "loop" in dropped  # and it stays where it was dropped
    assert "loop" in window.statusBar().currentMessage()
    assert document.undo_stack.count() == steps  # the chain was not turned into edges
    assert document.model.is_sequential


async def test_discard_is_asked_once_when_a_library_entry_is_double_clicked(
    window: MainWindow,
) -> None:
    window.document.new("draft")
    window.document.add_node("delay", node_id="wait", params={"seconds": 1})
    library = window.library
    await until(lambda: library.count() > 0, what="the library listed")
    item = library.item(0)
    assert item is not None
    wanted = str(item.data(Qt.ItemDataRole.UserRole))
    asked: list[str] = []
    clicked: list[bool] = []

    def answer() -> None:  # Discard the first question, Cancel any other
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            asked.append(box.text())
            first = len(asked) == 1
            box.button(
                QMessageBox.StandardButton.Discard if first else QMessageBox.StandardButton.Cancel
            ).click()
        if not clicked:
            QTimer.singleShot(10, answer)

    QTimer.singleShot(10, answer)
    centre = library.visualItemRect(item).center()

    def double_click() -> None:  # every question of this double-click is asked in here
        viewport = library.viewport()
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=centre)  # as a hand does:
        QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=centre)  # click, double
        clicked.append(True)

    QTimer.singleShot(0, double_click)
    await until(lambda: bool(clicked), what="the double-click handled")
    assert len(asked) == 1, asked
    await until(lambda: window.document.model.blueprint_id == wanted, what="entry opened")
    assert not window.document.is_dirty
