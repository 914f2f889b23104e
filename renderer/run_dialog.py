"""The inputs dialog before a run: one editor per declared blueprint input.

Generated from the blueprint's ``inputs`` (type → editor), so every blueprint can
be run with arguments without GUI code of its own. Object/array/any inputs are
typed as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app.blueprint import InputSpec

_Editor = QLineEdit | QDoubleSpinBox | QSpinBox | QCheckBox


def _editor(spec: InputSpec) -> _Editor:
    default = spec.default
    match spec.type:
        case "boolean":
            box = QCheckBox()
            box.setChecked(bool(default))
            return box
        case "integer":
            spin = QSpinBox()
            spin.setRange(-(2**31), 2**31 - 1)
            spin.setValue(int(default or 0))
            return spin
        case "number":
            dspin = QDoubleSpinBox()
            dspin.setRange(-1e12, 1e12)
            dspin.setDecimals(4)
            dspin.setValue(float(default or 0))
            return dspin
        case "string":
            return QLineEdit("" if default is None else str(default))
        case _:
            return QLineEdit("" if default is None else json.dumps(default))


class RunDialog(QDialog):
    """Asks for the blueprint's inputs; :meth:`values` reads them back."""

    def __init__(self, inputs: dict[str, InputSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run with inputs")
        self.setMinimumWidth(420)
        self._specs = inputs
        self.editors: dict[str, _Editor] = {}
        form = QFormLayout(self)
        for name, spec in inputs.items():
            editor = _editor(spec)
            if spec.description:
                editor.setToolTip(spec.description)
            self.editors[name] = editor
            label = QLabel(f"{name}{' *' if spec.required else ''}")
            label.setWordWrap(True)
            label.setToolTip(spec.description or name)
            form.addRow(label, editor)
        self.error = QLabel()
        self.error.setWordWrap(True)  # a long JSON error message wraps, not cut
        self.error.setStyleSheet("color: #dc2626")
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        """The inputs as the engine wants them; ValueError for bad JSON."""
        out: dict[str, Any] = {}
        for name, editor in self.editors.items():
            spec = self._specs[name]
            if isinstance(editor, QCheckBox):
                out[name] = editor.isChecked()
            elif isinstance(editor, QSpinBox | QDoubleSpinBox):
                out[name] = editor.value()
            elif spec.type == "string":
                out[name] = editor.text()
            elif editor.text().strip():
                try:
                    out[name] = json.loads(editor.text())
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{name}: not JSON ({exc.msg})") from None
        return out

    def _accept(self) -> None:
        try:
            self.values()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
