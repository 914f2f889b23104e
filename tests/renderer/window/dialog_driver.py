"""Answering the window's modal dialogs as a user would, from Qt timers.

A modal dialog runs its own event loop (``exec``), so the test's coroutine does not
run while it is up: these helpers wait for the dialog from timer callbacks, type
into it with QTest key events and press its buttons, and record what they saw for
the test to assert once the dialog is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox, QWidget

from renderer.blueprint_dialog import BlueprintNameDialog

W = TypeVar("W", bound=QWidget)


def when_modal(kind: type[W], answer: Callable[[W], None]) -> None:
    """Call ``answer(dialog)`` once a modal ``kind`` is up (polling every 10 ms)."""

    def look() -> None:
        modal = QApplication.activeModalWidget()
        if isinstance(modal, kind):
            answer(modal)
        else:
            QTimer.singleShot(10, look)

    QTimer.singleShot(10, look)


def retype(field: QWidget, text: str) -> None:
    """Select all in a line edit and type ``text`` over it, key by key."""
    field.setFocus()
    QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(field, Qt.Key.Key_Delete)
    QTest.keyClicks(field, text)


def fill_name_dialog(
    seen: list[str],
    tries: list[str],
    final_id: str,
    name: str | None = None,
    description: str | None = None,
    picture: Callable[[QWidget], None] | None = None,
) -> None:
    """On the next name dialog: type each id of ``tries`` (recording the message and
    whether OK was enabled, as ``id|enabled|message``), then ``final_id``, the name
    and the description, and press OK. ``picture`` is shown the dialog before the
    last id is typed (a screenshot with the last refusal under the id)."""

    def answer(dialog: BlueprintNameDialog) -> None:
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        seen.append(f"prefilled|{dialog.id_edit.text()}|{dialog.name_edit.text()}")
        if name is not None:
            retype(dialog.name_edit, name)
        for attempt in tries:
            retype(dialog.id_edit, attempt)
            seen.append(f"{attempt}|{ok.isEnabled()}|{dialog.id_message.text()}")
        if picture is not None:
            picture(dialog)
        retype(dialog.id_edit, final_id)
        if description is not None and dialog.description_edit is not None:
            dialog.description_edit.setFocus()
            QTest.keyClicks(dialog.description_edit, description)
        seen.append(f"{final_id}|{ok.isEnabled()}|{dialog.id_message.text()}")
        QTest.mouseClick(ok, Qt.MouseButton.LeftButton)

    when_modal(BlueprintNameDialog, answer)


def click_box(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Press ``button`` on the next message box, recording its text."""

    def answer(box: QMessageBox) -> None:
        seen.append(box.text())
        QTest.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

    when_modal(QMessageBox, answer)


def menu_action(window: QWidget, text: str) -> QAction:
    """The window's menu action labelled ``text`` (``&Save``)."""
    for action in window.findChildren(QAction):
        if action.text() == text:
            return action
    raise AssertionError(f"no action {text!r}")
