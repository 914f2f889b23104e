"""Tools → Secrets: names listed, a secret added and deleted through the real worker,
values never shown, and a run that reads the secret shows its output masked."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from app.secret_rules import MASK
from renderer.main_window import MainWindow
from renderer.secrets_dialog import SecretsDialog, show_secrets
from tests.renderer.window.conftest import until

PLANTED = "gui-planted-secret-42"


def _names(dialog: SecretsDialog) -> list[str]:
    return [dialog.names.item(i).text() for i in range(dialog.names.count())]


async def test_add_use_and_delete_a_secret(window: MainWindow) -> None:
    await until(lambda: window.bridge.worker_state == "ready", what="worker ready")
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert [a.text() for a in menu.actions()] == ["&Secrets…"]
    dialog = show_secrets(window)
    assert dialog.value.echoMode() is QLineEdit.EchoMode.Password
    await until(lambda: "{{ secrets.NAME }}" in dialog.status.text(), what="hint")

    dialog.name.setText("API_TOKEN")
    dialog.value.setText("abc")
    dialog.save()
    assert "at least 4 characters" in dialog.status.text()  # refused before sending
    dialog.value.setText(PLANTED)
    dialog.save()
    await until(lambda: _names(dialog) == ["API_TOKEN"], what="the secret listed")
    assert dialog.value.text() == ""  # the dialog keeps no copy

    result = await window.bridge.conductor.execute(
        blueprint={
            "id": "uses-secret",
            "nodes": [{"id": "a", "type": "set", "params": {"value": "{{ secrets.API_TOKEN }}"}}],
        }
    )
    assert result.success and result.outputs == MASK

    dialog.names.setCurrentRow(0)
    dialog.delete_selected()  # the first click asks
    assert dialog.delete_button.text() == "Confirm delete API_TOKEN"
    assert "Click again" in dialog.status.text()
    # A delete sent by the first click would reach the worker before this question.
    assert await window.bridge.conductor.secrets.list() == ["API_TOKEN"]
    dialog.names.setCurrentRow(-1)
    dialog.names.setCurrentRow(0)  # a changed selection forgets the question
    assert dialog.delete_button.text() == "Delete selected"
    dialog.delete_selected()
    dialog.delete_selected()  # asked and confirmed
    await until(lambda: _names(dialog) == [], what="the secret deleted")
    assert "deleted" in dialog.status.text()
    texts = [dialog.status.text(), *(w.text() for w in dialog.findChildren(QLineEdit))]
    assert all(PLANTED not in text for text in texts)
    dialog.close_buttons.button(QDialogButtonBox.StandardButton.Close).click()
    await until(lambda: not dialog.isVisible(), what="Close closed the dialog")
