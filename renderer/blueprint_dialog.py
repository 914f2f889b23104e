"""The dialog that names a blueprint: id, name and description.

Save asks it for a blueprint that has no file yet (New asks for nothing); Rename and
Duplicate in the Library ask it for the new id. The id follows the one rule every
transport checks (:func:`app.blueprint_ids.id_problem`) and must not be taken; what
is wrong is said under the field while typing, and OK stays disabled until it is right.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.blueprint_ids import id_problem
from renderer.inspector.schema_form import ERROR_COLOUR

#: Answers why an id may not be used ("taken by ...") or None when it is free.
IdCheck = Callable[[str], str | None]


class BlueprintNameDialog(QDialog):
    """Id, name and (optionally) description of a blueprint (see the module doc)."""

    def __init__(
        self,
        title: str,
        *,
        blueprint_id: str = "",
        name: str = "",
        description: str | None = "",
        taken: IdCheck = lambda _id: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("blueprint-name-dialog")
        self._taken = taken
        self.id_edit = QLineEdit(blueprint_id, self)
        self.id_edit.setPlaceholderText("my-blueprint")
        self.id_edit.setObjectName("blueprint-id")
        self.id_message = QLabel("", self)
        self.id_message.setWordWrap(True)
        self.id_message.setObjectName("blueprint-id-message")
        self.name_edit = QLineEdit(name, self)
        self.name_edit.setPlaceholderText("My blueprint")
        self.name_edit.setObjectName("blueprint-name")
        self.description_edit: QPlainTextEdit | None = None
        form = QFormLayout()
        form.addRow("Id", self.id_edit)
        form.addRow("", self.id_message)
        form.addRow("Name", self.name_edit)
        if description is not None:
            self.description_edit = QPlainTextEdit(description, self)
            self.description_edit.setObjectName("blueprint-description")
            self.description_edit.setFixedHeight(70)
            form.addRow("Description", self.description_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.id_edit.textChanged.connect(self._check)
        self.name_edit.textChanged.connect(self._suggest_id)
        self._id_typed = bool(blueprint_id)
        self.id_edit.textEdited.connect(lambda _text: setattr(self, "_id_typed", True))
        self.setMinimumWidth(460)
        self._check()

    def problem(self) -> str | None:
        """Why the id cannot be used, or None."""
        blueprint_id = self.blueprint_id()
        return id_problem(blueprint_id) or self._taken(blueprint_id)

    def _check(self) -> None:
        problem = self.problem()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(problem is None)
        shown = problem if problem and self.blueprint_id() else ""
        self.id_message.setText(shown or "")
        self.id_message.setStyleSheet(f"color: {ERROR_COLOUR};" if shown else "")
        self.adjustSize()  # grow to show the whole message (it wraps)

    def _suggest_id(self, name: str) -> None:
        """Until the id is typed, it follows the name (``My flow`` → ``my-flow``)."""
        if not self._id_typed:
            self.id_edit.setText(slug(name))

    def blueprint_id(self) -> str:
        return self.id_edit.text().strip()

    def name(self) -> str | None:
        return self.name_edit.text().strip() or None

    def description(self) -> str:
        return self.description_edit.toPlainText().strip() if self.description_edit else ""


def slug(text: str) -> str:
    """An id made from a name: accents dropped, lower case, runs of other characters
    become ``-`` (``Ünïcode flow!`` → ``unicode-flow``)."""
    out: list[str] = []
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    for char in plain.strip().lower():
        if char.isascii() and (char.isalnum() or char in "_."):
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-.")[:200]
