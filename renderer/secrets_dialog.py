"""Tools → Secrets: the names of the worker's secrets, add or replace one, delete one.

Values are typed into a password field and sent to the worker
(``conductor.secrets.set``); none is ever shown or read back: the worker answers with
names only. Secrets belong to the worker's engine (its data dir's OS keyring, else
its encrypted file), the same ones ``conductor secrets`` manages on that data dir.
A name or value the rules refuse (:mod:`app.secret_rules`) is explained in the
dialog before anything is sent. Deleting asks first, in the dialog itself (the
button becomes "Confirm delete NAME" until the selection changes): a secret's value
cannot be read back, so a slip of the mouse must not lose it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import ConductorError
from app.secret_rules import check_name, check_value

if TYPE_CHECKING:
    from renderer.main_window import MainWindow


class SecretsDialog(QDialog):
    """List, add and delete secrets through the window's worker (see the module docs)."""

    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window_ = window
        self.setWindowTitle("Secrets")
        self.resize(420, 380)
        self.names = QListWidget()
        self.names.setObjectName("secret-names")
        self.name = QLineEdit()
        self.name.setPlaceholderText("API_TOKEN")
        self.value = QLineEdit()
        self.value.setEchoMode(QLineEdit.EchoMode.Password)
        self.value.setPlaceholderText("at least 4 characters; never shown again")
        self.save_button = QPushButton("Add / replace")
        self.delete_button = QPushButton("Delete selected")
        self.status = QLabel(
            "Use a secret in any param as {{ secrets.NAME }}; runs show its value as ••••."
        )
        self.close_buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.close_buttons.rejected.connect(self.close)
        #: The name a first click on Delete asked about (a second click deletes it).
        self.confirming: str | None = None
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Value", self.value)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.names)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.close_buttons)
        self.names.currentRowChanged.connect(lambda _row: self._unconfirm())
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete_selected)
        self.value.returnPressed.connect(self.save)
        self.refresh()

    def _submit(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        async def shown() -> None:
            try:
                await coro
            except ConductorError as exc:
                self.status.setText(f"{what} failed: {exc.message}")

        self.window_.bridge.submit(shown(), what)

    def _show_names(self, names: list[str]) -> None:
        self.names.clear()
        self.names.addItems(names)

    def refresh(self) -> None:
        async def listed() -> None:
            self._show_names(await self.window_.bridge.conductor.secrets.list())

        self._submit(listed(), "listing secrets")

    def save(self) -> None:
        name, value = self.name.text().strip(), self.value.text()
        try:
            check_name(name)
            check_value(value)
        except ConductorError as exc:
            self.status.setText(exc.message)
            return
        self.value.clear()  # the dialog keeps no copy

        async def saved() -> None:
            self._show_names(await self.window_.bridge.conductor.secrets.set(name, value))
            self.status.setText(f"Secret {name} saved.")

        self._submit(saved(), "saving the secret")

    def delete_selected(self) -> None:
        row = self.names.currentRow()
        if row < 0:
            self.status.setText("Select a secret to delete.")
            return
        name = self.names.item(row).text()
        if self.confirming != name:
            self.confirming = name
            self.delete_button.setText(f"Confirm delete {name}")
            self.status.setText(
                f"Delete {name}? Its value cannot be recovered; blueprints using it will"
                " fail validation. Click again to delete."
            )
            return
        self._unconfirm()

        async def deleted() -> None:
            await self.window_.bridge.conductor.secrets.delete(name)
            self._show_names(await self.window_.bridge.conductor.secrets.list())
            self.status.setText(f"Secret {name} deleted.")

        self._submit(deleted(), "deleting the secret")

    def _unconfirm(self) -> None:
        self.confirming = None
        self.delete_button.setText("Delete selected")


def show_secrets(window: MainWindow) -> SecretsDialog:
    """Open the dialog (modeless: the window stays usable)."""
    dialog = SecretsDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
