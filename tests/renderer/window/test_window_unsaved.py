"""Unsaved edits are never dropped without asking: New, Open and Close offer
Save / Discard / Cancel (a real QMessageBox, answered by clicking its button)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until


def answer_next_box(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click ``button`` on the next modal message box, once it is up."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(10, click)

    QTimer.singleShot(10, click)


async def test_new_asks_and_cancel_keeps_the_edits(window: MainWindow) -> None:
    window.document.new("draft")
    window.document.add_node("delay", node_id="wait", params={"seconds": 1})
    assert window.document.is_dirty
    seen: list[str] = []
    answer_next_box(QMessageBox.StandardButton.Cancel, seen)
    QTimer.singleShot(0, window.new_document)
    await until(lambda: bool(seen), what="the question")
    assert "unsaved changes" in seen[0]
    assert window.document.model.has_node("wait")

    answer_next_box(QMessageBox.StandardButton.Discard, seen)
    QTimer.singleShot(0, window.new_document)
    await until(lambda: len(seen) == 2 and not window.document.model.has_node("wait"))
    assert not window.document.is_dirty


async def test_open_asks_and_save_writes_first(window: MainWindow, tmp_path: Path) -> None:
    target = tmp_path / "draft.json"
    window.document.new("draft")
    window.document.add_node("delay", node_id="wait", params={"seconds": 1})
    window.document.save(target)  # has a path now; the next edit makes it dirty again
    window.document.add_node("delay", node_id="again", params={"seconds": 2})
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"id": "other", "nodes": []}))
    seen: list[str] = []
    answer_next_box(QMessageBox.StandardButton.Save, seen)
    QTimer.singleShot(0, lambda: window.open_file(other))
    await until(lambda: window.document.model.blueprint_id == "other", what="other opened")
    saved = json.loads(target.read_text())
    assert [n["id"] for n in saved["nodes"]] == ["wait", "again"]


async def test_close_asks_and_cancel_keeps_the_window(window: MainWindow) -> None:
    window.document.new("draft")
    window.document.add_node("delay", node_id="wait", params={"seconds": 1})
    seen: list[str] = []
    answer_next_box(QMessageBox.StandardButton.Cancel, seen)
    QTimer.singleShot(0, window.close)
    await until(lambda: bool(seen), what="the question")
    await until(lambda: QApplication.activeModalWidget() is None, what="box gone")
    assert window.isVisible()
    assert window.document.is_dirty
