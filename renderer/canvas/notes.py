"""Sticky notes on the canvas: text beside the graph, saved with the blueprint.

A note explains a part of a workflow to the next reader (as Node-RED's comment node
and n8n's sticky notes do). Notes live in the blueprint's ``ui.notes`` — editor
data outside the content hash, so adding one never makes a run "changed" — as a
list of ``{"id", "text", "x", "y"}``. Every change (add, edit, move, delete) is one
undoable command on the document; the :class:`NoteLayer` keeps the note items in
step with the document, as the scene does for nodes.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFocusEvent, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneMouseEvent,
    QGraphicsTextItem,
)

from renderer.canvas.scene import BlueprintScene

#: A note's width; its height follows its text.
NOTE_WIDTH = 220.0
_PAD = 8.0
_PAPER = QColor("#fff3b0")
_INK = QColor("#3b3523")


class _NoteText(QGraphicsTextItem):
    """The editable text; leaving it commits the edit."""

    def __init__(self, note: NoteItem) -> None:
        super().__init__(note)
        self._note = note

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self._note.text_finished()


class NoteItem(QGraphicsRectItem):
    """One sticky note: a yellow card with text; double-click to edit, drag to move."""

    def __init__(self, layer: NoteLayer, note_id: str, text: str) -> None:
        super().__init__()
        self.layer = layer
        self.note_id = note_id
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
        )
        self.setZValue(-1.0)  # under nodes and wires
        self.setBrush(QBrush(_PAPER))
        self.setPen(QPen(_PAPER.darker(130), 1))
        self.text_item = _NoteText(self)
        self.text_item.setDefaultTextColor(_INK)
        self.text_item.setTextWidth(NOTE_WIDTH - 2 * _PAD)
        self.text_item.setPos(_PAD, _PAD)
        self.set_text(text)
        self._pressed_at: QPointF | None = None

    @property
    def text(self) -> str:
        return self.text_item.toPlainText()

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text_item.setPlainText(text)
        height = max(60.0, self.text_item.boundingRect().height() + 2 * _PAD)
        self.setRect(QRectF(0, 0, NOTE_WIDTH, height))

    def edit(self) -> None:
        """Start editing the text (as a double-click does)."""
        self.text_item.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)
        self.text_item.setFocus(Qt.FocusReason.MouseFocusReason)

    def text_finished(self) -> None:
        self.set_text(self.text)
        self.layer.commit()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.edit()
        event.accept()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._pressed_at = self.pos()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if self._pressed_at is not None and self._pressed_at != self.pos():
            self.layer.commit()
        self._pressed_at = None

    def as_data(self) -> dict[str, Any]:
        return {"id": self.note_id, "text": self.text, "x": self.x(), "y": self.y()}


class NoteLayer:
    """The notes of a scene's document: items in step with ``ui.notes``."""

    def __init__(self, scene: BlueprintScene) -> None:
        self._scene = scene
        self._items: dict[str, NoteItem] = {}
        document = scene.document
        document.reset.connect(self._reset)
        document.blueprint_changed.connect(self._changed)
        self.sync()

    def items(self) -> list[NoteItem]:
        return [item for item in self._items.values() if shiboken6.isValid(item)]

    def _reset(self) -> None:
        self._items = {}  # the scene cleared itself (and our items) on reset
        self.sync()

    def _changed(self, name: str) -> None:
        if name == "ui.notes":
            self.sync()

    def notes(self) -> list[dict[str, Any]]:
        """The notes as the document holds them (bad entries left out)."""
        raw = self._scene.document.model.ui_field("notes")
        if not isinstance(raw, list):
            return []
        return [n for n in raw if isinstance(n, dict) and isinstance(n.get("id"), str)]

    def sync(self) -> None:
        """Make the items match ``ui.notes`` (create, update, remove)."""
        wanted = {n["id"]: n for n in self.notes()}
        for note_id in list(self._items):
            item = self._items[note_id]
            if note_id not in wanted or not shiboken6.isValid(item):
                if shiboken6.isValid(item) and item.scene() is self._scene:
                    self._scene.removeItem(item)
                del self._items[note_id]
        for note_id, note in wanted.items():
            found = self._items.get(note_id)
            if found is None:
                found = self._items[note_id] = NoteItem(self, note_id, str(note.get("text", "")))
                self._scene.addItem(found)
            elif not found.text_item.hasFocus():
                found.set_text(str(note.get("text", "")))
            item = found
            x, y = float(note.get("x", 0.0)), float(note.get("y", 0.0))
            if (item.x(), item.y()) != (x, y):
                item.setPos(x, y)

    def commit(self) -> None:
        """Record the items' text and places in the document (one undo step)."""
        current = [item.as_data() for item in self.items()]
        if current != self.notes():
            self._scene.document.set_ui_field("notes", current or None)

    def add(self, at: QPointF, text: str = "") -> NoteItem:
        """A new note at ``at``, ready to type into."""
        taken = set(self._items)
        number = 1
        while f"note_{number}" in taken:
            number += 1
        note_id = f"note_{number}"
        note = {"id": note_id, "text": text, "x": at.x(), "y": at.y()}
        self._scene.document.set_ui_field("notes", [*self.notes(), note])
        item = self._items[note_id]
        self._scene.clearSelection()
        item.setSelected(True)
        item.edit()
        return item

    def delete_selected(self) -> bool:
        """Remove the selected notes (one undo step); True when there were any."""
        chosen = {item.note_id for item in self.items() if item.isSelected()}
        if not chosen:
            return False
        kept = [n for n in self.notes() if n["id"] not in chosen]
        self._scene.document.set_ui_field("notes", kept or None)
        return True
