"""Sticky notes: added from the canvas menu, typed into, moved, deleted — each one undo
step, saved in ``ui.notes`` (outside the content hash) and reloaded."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.blueprint import Blueprint
from renderer.canvas.view import CanvasView
from renderer.editor.document import EditorDocument

_NONE = Qt.KeyboardModifier.NoModifier
_LEFT = Qt.MouseButton.LeftButton


def _trigger(menu: QMenu, text: str) -> None:
    action = next(a for a in menu.actions() if a.text() == text)
    action.trigger()


def test_a_note_is_added_typed_moved_and_deleted_as_undoable_edits(
    view: CanvasView, doc: EditorDocument, qtbot: QtBot
) -> None:
    hash_before = doc.to_blueprint().content_hash()
    at = QPointF(300, 400)
    local = view.mapFromScene(at)
    _trigger(view.menus.menu_at(at, view.viewport().mapToGlobal(local)), "Add note")
    notes = view.notes.items()
    assert len(notes) == 1
    note = notes[0]
    assert note.text_item.hasFocus()  # ready to type
    QTest.keyClicks(view.viewport(), "Fetch runs hourly!")
    view.blueprint_scene.select_nodes(["fetch"])  # a selected node must survive the typing
    note.text_item.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Backspace)  # deletes the "!", not the node
    QTest.keyClick(view, Qt.Key.Key_Tab)  # a tab in the text, no node picker
    assert not view.quick_add.picker.isVisible()
    assert note.text.endswith("hourly\t")
    QTest.keyClick(view, Qt.Key.Key_Backspace)
    assert "fetch" in doc.model.node_ids()
    view.setFocus()
    note.text_item.clearFocus()  # focus leaves the note: the text is recorded
    saved = doc.to_blueprint().ui.model_dump()["notes"]
    assert saved == [{"id": "note_1", "text": "Fetch runs hourly", "x": 300.0, "y": 400.0}]
    assert doc.to_blueprint().content_hash() == hash_before  # notes are not the workflow

    # Drag the note by its edge: one undo step moves it back.
    start = view.mapFromScene(note.sceneBoundingRect().topLeft() + QPointF(4, 4))
    end = start + QPoint(120, 60)
    QTest.mousePress(view.viewport(), _LEFT, _NONE, start)
    for k in range(1, 6):
        QTest.mouseMove(view.viewport(), start + (end - start) * (k / 5))
    QTest.mouseRelease(view.viewport(), _LEFT, _NONE, end)
    moved = doc.to_blueprint().ui.model_dump()["notes"][0]
    assert moved["x"] > 350 and moved["y"] > 420
    doc.undo_stack.undo()
    assert doc.to_blueprint().ui.model_dump()["notes"][0]["x"] == 300.0
    assert view.notes.items()[0].x() == 300.0

    # Save and reload: the note comes back.
    text = doc.to_blueprint().model_dump_json()
    doc.load(Blueprint.model_validate_json(text))
    assert [n.text for n in view.notes.items()] == ["Fetch runs hourly"]

    # Delete with the key: gone, and back with undo.
    view.notes.items()[0].setSelected(True)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert view.notes.items() == []
    assert "notes" not in doc.to_blueprint().ui.model_dump()
    assert len(doc.model.nodes) == 4  # no node went with it
    doc.undo_stack.undo()
    assert [n.text for n in view.notes.items()] == ["Fetch runs hourly"]


def test_a_note_menu_edits_and_deletes(view: CanvasView, doc: EditorDocument) -> None:
    doc.set_ui_field("notes", [{"id": "note_1", "text": "hello", "x": 0.0, "y": 300.0}])
    note = view.notes.items()[0]
    centre = note.sceneBoundingRect().center()
    menu = view.menus.menu_at(centre, view.viewport().mapToGlobal(view.mapFromScene(centre)))
    assert [a.text() for a in menu.actions()] == ["Edit note", "Delete note"]
    _trigger(menu, "Delete note")
    assert view.notes.items() == []


def test_fit_shows_the_sticky_notes_too(view: CanvasView) -> None:
    """Fit framed the nodes only: a note below them ended under the minimap (Xvfb)."""
    note = view.notes.add(QPointF(300, 1500), "far below the nodes")
    view.fit_to_view()
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(note.sceneBoundingRect()), (shown, note.sceneBoundingRect())
