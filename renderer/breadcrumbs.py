"""Opening a sub-blueprint in the editor, with breadcrumbs back to its parents.

One document, a stack of frames: opening the child of a ``blueprint.call`` node
keeps the parent as it stands — its blueprint, file and whether it had unsaved
edits — and loads the child in its place; a crumb (``parent > child``) or Back
puts a parent back, unsaved edits and all (its undo history starts afresh: the
commands were made on the model the child now fills). Leaving a child with unsaved
edits asks Save / Discard / Cancel, as closing a document does. New, Open, the
Library and closing the window first go back up the trail the same way, so no
parent's unsaved edits are dropped without asking.

The crumbs sit above the canvas and are hidden while no sub-blueprint is open.
A blueprint already on the trail is not opened again inside itself (recursion).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.blueprint import Blueprint
from renderer.unsaved import guard_replacement, may_discard_document

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

#: Between crumbs: a single right-pointing angle quotation mark.
SEPARATOR = "\u203a"


@dataclass(frozen=True)
class Frame:
    """A parent left for one of its sub-blueprints, as it stood."""

    blueprint: Blueprint
    path: Path | None
    dirty: bool

    @property
    def label(self) -> str:
        return self.blueprint.name or self.blueprint.id


class BreadcrumbBar(QWidget):
    """``parent > child``: each parent a button, the open blueprint in bold."""

    #: A crumb was clicked: go back to the frame at this depth.
    back_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breadcrumbs")
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(8, 2, 8, 2)
        self.crumbs: list[QPushButton] = []
        self.current = QLabel(self)
        self.hide()

    def show_trail(self, parents: list[str], current: str) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.current:
                widget.deleteLater()
        self.crumbs = []
        for depth, label in enumerate(parents):
            button = QPushButton(label, self)
            button.setFlat(True)
            button.setToolTip(f"Back to {label}")
            button.clicked.connect(lambda _checked=False, d=depth: self.back_requested.emit(d))
            self.crumbs.append(button)
            self._row.addWidget(button)
            self._row.addWidget(QLabel(SEPARATOR, self))
        self.current.setText(f"<b>{current}</b>")
        self._row.addWidget(self.current)
        self._row.addStretch(1)
        self.setVisible(bool(parents))

    def text(self) -> str:
        """The trail as shown, ``parent > child`` (with :data:`SEPARATOR`)."""
        return f" {SEPARATOR} ".join([b.text() for b in self.crumbs] + [self.current.text()[3:-4]])


class SubBlueprintTrail:
    """The stack of parents and the crumbs that show it (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.frames: list[Frame] = []
        self.bar = BreadcrumbBar()
        self.bar.back_requested.connect(self.back_to)
        self._moving = False
        window.document.reset.connect(self._document_replaced)
        guard_replacement(window, lambda: self.back_to(0))

    def open_child(self, child: Blueprint, path: Path | None) -> bool:
        """Show ``child`` (from ``path``, or an unsaved copy) with the current document
        kept as its parent; False (and a message) when it is on the trail already."""
        document = self.window.document
        trail = {f.blueprint.id for f in self.frames} | {document.model.blueprint_id}
        if child.id in trail:
            self.window.show_error(
                "Cannot open sub-blueprint",
                f"{child.id} is already open above this one: a blueprint cannot call itself.",
            )
            return False
        self.frames.append(Frame(document.to_blueprint(), document.path, document.is_dirty))
        self._swap(child, path, dirty=False)  # the frame first: views reading the trail see it
        self._show()
        return True

    def back_to(self, depth: int) -> bool:
        """Go back to the parent at ``depth`` (0: the first); False when the user
        cancelled leaving a blueprint with unsaved edits."""
        while len(self.frames) > depth:
            if not may_discard_document(self.window, self.window):
                return False
            frame = self.frames.pop()
            self._swap(frame.blueprint, frame.path, dirty=frame.dirty)
            self._show()
        return True

    def back(self) -> bool:
        """One level up (nothing to do at the top)."""
        return self.back_to(len(self.frames) - 1) if self.frames else False

    def _swap(self, blueprint: Blueprint, path: Path | None, *, dirty: bool) -> None:
        document = self.window.document
        self._moving = True
        try:
            document.load(blueprint, path)
        finally:
            self._moving = False
        if dirty:
            document.undo_stack.resetClean()
        self.window.view.fit_to_view()

    def _show(self) -> None:
        model = self.window.document.model
        current = model.blueprint_field("name") or model.blueprint_id
        self.bar.show_trail([f.label for f in self.frames], current)

    def _document_replaced(self) -> None:
        """Another document was opened: the trail no longer leads to it."""
        if not self._moving and self.frames:
            self.frames = []
            self.bar.show_trail([], "")
