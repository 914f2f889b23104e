"""Naming blueprints and the Library's operations, from the window.

Separate from the window's layout so the naming rules read in one place:

* **New asks for nothing**: a new blueprint gets the id ``untitled-N``, unique in
  this session and against the library (the data dir's ``blueprints/`` and the
  bundled examples), so two unsaved blueprints — and their runs in History — are
  never confused.
* **Save names it**: a blueprint with no file asks for id, name and description
  (:class:`~renderer.blueprint_dialog.BlueprintNameDialog`) and is written to the
  library, ``blueprints/<id>.json`` in the data dir. The id may not be taken by
  another blueprint (a blueprint's own saved id may be saved over).
* **Library**: open, rename, duplicate, delete. Rename and duplicate run in the
  worker (``rename_blueprint``/``duplicate_blueprint``), which refuses a rename
  while another blueprint runs the old id; the refusal is shown as a message. A
  blueprint open with unsaved edits is not renamed or deleted under the editor.

The dialogs are modal (``exec``) and asked before any coroutine starts, as the
unsaved-changes question is; the worker calls then run as tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QMessageBox

from app.blueprint_ids import MAX_ID_LENGTH
from app.errors import ConductorError
from app.paths import EXAMPLES_DIR, blueprints_dir
from renderer.blueprint_dialog import BlueprintNameDialog
from renderer.unsaved import may_discard

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

_SUFFIXES = (".json", ".yaml", ".yml")
UNTITLED = "untitled"


def _ids_in(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    return {path.stem for path in folder.iterdir() if path.suffix in _SUFFIXES}


def copy_id(blueprint_id: str, taken: Callable[[str], bool]) -> str:
    """The id Duplicate suggests: ``<id>-copy`` (``-copy-2``, …), the id shortened so
    the suggestion stays a valid id (a 197-character id once got an invalid
    suggestion, and the dialog opened with OK disabled)."""
    number = 1
    while True:
        suffix = "-copy" if number == 1 else f"-copy-{number}"
        suggested = blueprint_id[: MAX_ID_LENGTH - len(suffix)].rstrip(".") + suffix
        if not taken(suggested):
            return suggested
        number += 1


class LibraryControl:
    """The window's naming and library behaviour (see the module docstring)."""

    def __init__(self, window: MainWindow, examples: Path = EXAMPLES_DIR) -> None:
        self.window = window
        self.examples = examples
        #: The untitled ids handed out in this session.
        self._issued: set[str] = set()
        library = window.library
        library.blueprint_open_requested.connect(self.open)
        library.rename_requested.connect(self.rename)
        library.duplicate_requested.connect(self.duplicate)
        library.delete_requested.connect(self.delete)

    @property
    def user_dir(self) -> Path:
        return blueprints_dir(self.window.home)

    def user_file(self, blueprint_id: str) -> Path | None:
        for suffix in _SUFFIXES:
            path = self.user_dir / f"{blueprint_id}{suffix}"
            if path.is_file():
                return path
        return None

    def taken_by(self, blueprint_id: str, own: Path | None = None) -> str | None:
        """Why ``blueprint_id`` may not be used for a new blueprint, or None. ``own``:
        the file of the blueprint being saved, which it may replace."""
        mine = self.user_file(blueprint_id)
        if mine is not None and mine != own:
            return f"a blueprint {blueprint_id!r} is saved already: choose another id"
        if mine is None and blueprint_id in _ids_in(self.examples):
            return f"{blueprint_id!r} is a bundled example: choose another id"
        return None

    # -- new and save ----------------------------------------------------------------

    def fresh_untitled_id(self) -> str:
        """``untitled-N``: unused in this session and in the library."""
        taken = self._issued | _ids_in(self.user_dir) | _ids_in(self.examples)
        number = 1
        while f"{UNTITLED}-{number}" in taken:
            number += 1
        blueprint_id = f"{UNTITLED}-{number}"
        self._issued.add(blueprint_id)
        return blueprint_id

    def new_document(self) -> None:
        self.window.document.new(self.fresh_untitled_id())

    def save_named(self) -> bool:
        """Ask the blueprint's id, name and description and save it to the library."""
        document = self.window.document
        model = document.model
        current = model.blueprint_id
        own = self.user_file(current)
        suggested = "" if current in self._issued else current
        dialog = BlueprintNameDialog(
            "Save blueprint",
            blueprint_id=suggested,
            name=model.blueprint_field("name") or "",
            description=model.blueprint_field("description") or "",
            taken=lambda blueprint_id: self.taken_by(blueprint_id, own),
            parent=self.window,
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        changes = {
            "id": dialog.blueprint_id(),
            "name": dialog.name(),
            "description": dialog.description(),
        }
        with document.macro("Name blueprint"):
            for field, value in changes.items():
                if model.blueprint_field(field) != value:
                    document.set_blueprint_field(field, value)
        self.user_dir.mkdir(parents=True, exist_ok=True)
        saved = self.window.save_to(self.user_dir / f"{dialog.blueprint_id()}.json")
        if saved:
            self.window.refresh_lists()
        return saved

    # -- library ---------------------------------------------------------------------

    def _is_open_and_dirty(self, blueprint_id: str) -> bool:
        document = self.window.document
        path = self.user_file(blueprint_id)
        if path is not None and document.path == path and document.is_dirty:
            self.window.show_error(
                "Unsaved changes",
                f"{blueprint_id} is open with unsaved changes: save or discard them first.",
            )
            return True
        return False

    def open(self, blueprint_id: str) -> asyncio.Future[None] | None:
        """Open a library blueprint: the user's with its file (Save writes it again),
        an example as an unsaved copy."""
        window = self.window
        path = self.user_file(blueprint_id)
        if path is not None:
            window.open_file(path)
            return None
        if not may_discard(window, window):  # asked here, before the coroutine starts
            return None

        async def load() -> None:
            blueprint = await window.bridge.conductor.get_blueprint(blueprint_id)
            window.document.load(blueprint)  # its badges: see RunControl._reopened
            window.view.fit_to_view()

        return window.bridge.submit(load(), "open blueprint")

    def rename(self, blueprint_id: str) -> asyncio.Future[None] | None:
        """Give a user blueprint a new id; past executions keep the old one."""
        if self._is_open_and_dirty(blueprint_id):
            return None
        summary = self.window.library.summaries.get(blueprint_id)
        dialog = BlueprintNameDialog(
            f"Rename {blueprint_id}",
            blueprint_id=blueprint_id,
            name=(summary.name if summary else None) or "",
            description=None,
            taken=lambda new_id: (
                "that is its id now" if new_id == blueprint_id else self.taken_by(new_id)
            ),
            parent=self.window,
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        new_id, name = dialog.blueprint_id(), dialog.name()
        was_open = self.window.document.path == self.user_file(blueprint_id)

        async def rename() -> None:
            conductor = self.window.bridge.conductor
            try:
                summary = await conductor.rename_blueprint(blueprint_id, new_id, name=name)
            except ConductorError as exc:
                self.window.show_error(f"Cannot rename {blueprint_id}", exc.message)
                return
            if was_open and summary.path:
                self.window.document.open(Path(summary.path))
            self.window.statusBar().showMessage(f"Renamed {blueprint_id} to {new_id}", 8000)
            await self._refresh(new_id)

        return self.window.bridge.submit(rename(), "rename blueprint")

    def duplicate(self, blueprint_id: str) -> asyncio.Future[None] | None:
        """Copy a blueprint (one of the user's or an example) under a new id."""
        summary = self.window.library.summaries.get(blueprint_id)
        name = (summary.name if summary else None) or blueprint_id
        suggested = copy_id(blueprint_id, lambda taken: self.taken_by(taken) is not None)
        dialog = BlueprintNameDialog(
            f"Duplicate {blueprint_id}",
            blueprint_id=suggested,
            name=f"{name} (copy)",
            description=None,
            taken=self.taken_by,
            parent=self.window,
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        new_id, new_name = dialog.blueprint_id(), dialog.name()

        async def duplicate() -> None:
            conductor = self.window.bridge.conductor
            try:
                await conductor.duplicate_blueprint(blueprint_id, new_id, name=new_name)
            except ConductorError as exc:
                self.window.show_error(f"Cannot duplicate {blueprint_id}", exc.message)
                return
            await self._refresh(new_id)

        return self.window.bridge.submit(duplicate(), "duplicate blueprint")

    def delete(self, blueprint_id: str) -> asyncio.Future[None] | None:
        """Delete a user blueprint after asking; its past executions stay in History."""
        if self._is_open_and_dirty(blueprint_id):
            return None
        answer = QMessageBox.question(
            self.window,
            "Delete blueprint",
            f"Delete the blueprint {blueprint_id}? Its past runs stay in History.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None

        async def delete() -> None:
            try:
                await self.window.bridge.conductor.delete_blueprint(blueprint_id)
            except ConductorError as exc:
                self.window.show_error(f"Cannot delete {blueprint_id}", exc.message)
                return
            self.window.statusBar().showMessage(f"Deleted {blueprint_id}", 8000)
            await self._refresh(None)

        return self.window.bridge.submit(delete(), "delete blueprint")

    async def _refresh(self, select: str | None) -> None:
        library = self.window.library
        library.set_blueprints(await self.window.bridge.conductor.list_blueprints())
        if select is not None:
            library.select(select)
