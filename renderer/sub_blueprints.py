"""Sub-blueprints in the window: make one from a selection, open one from its node.

* **Make sub-blueprint…** (Edit menu, a node's right-click menu, the command
  palette): the selected nodes move into a new blueprint, named with the same
  dialog as Save and written to the library (``blueprints/<id>.json`` in the data
  dir), and one ``blueprint.call`` node takes their place, wired where they were
  (:mod:`renderer.editor.extraction` says how the boundary becomes the child's
  inputs and outputs). The child is written first; the parent's edit is then one
  undo step. Undo leaves the child in the library (it is a file the user may
  already use elsewhere).
* **Open sub-blueprint** (double-click a call node, or its menu): the child opens in
  the editor with breadcrumbs back to the parent
  (:class:`~renderer.breadcrumbs.SubBlueprintTrail`).
* The call node's params form shows the child's declared inputs as the fields of
  its ``inputs`` mapping (:mod:`renderer.inspector.call_inputs`); the child is
  read from the trail, then the library, then the bundled examples.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QVBoxLayout

from app.blueprint import Blueprint
from app.blueprint_files import dump_blueprint, load_blueprint_file
from app.errors import ConductorError
from app.templates import is_template
from renderer.blueprint_dialog import BlueprintNameDialog
from renderer.breadcrumbs import SubBlueprintTrail
from renderer.editor.errors import EditError
from renderer.editor.extract_edit import apply_extraction
from renderer.editor.extraction import CALL_TYPE, plan_extraction
from renderer.editor.node_catalog import NodeTypeCatalog

if TYPE_CHECKING:
    from renderer.main_window import MainWindow


def write_blueprint(path: Path, blueprint: Blueprint) -> None:
    """Write ``blueprint`` as JSON to ``path`` atomically (a temporary file renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dump_blueprint(blueprint, "json"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SubBlueprints:
    """The window's sub-blueprint actions and trail (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.trail = SubBlueprintTrail(window)
        centre = window.centralWidget()
        layout = centre.layout() if centre is not None else None
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(window.view), self.trail.bar)
        self.make = self._action("Make sub-blueprint…", self.make_sub_blueprint, "Ctrl+Shift+G")
        self.make.setToolTip("Move the selected nodes into a new blueprint called from here")
        self.open = self._action("Open sub-blueprint", self.open_sub_blueprint)
        self.back = self._action("Back to parent blueprint", self.trail.back, "Alt+Up")
        window.inspector.child_resolver = self.resolve
        window.scene.selectionChanged.connect(self._refresh_actions)
        window.document.reset.connect(self._refresh_actions)
        self._refresh_actions()

    def _action(self, text: str, slot: Callable[[], object], shortcut: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _refresh_actions(self) -> None:
        if not shiboken6.isValid(self.window.scene):
            return  # the window is being torn down (its scene tells of the last items)
        selected = self.window.scene.selected_node_ids()
        self.make.setEnabled(bool(selected))
        self.open.setEnabled(self.call_target(None) is not None)
        self.back.setEnabled(bool(self.trail.frames))

    def _tell(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 8000)

    # -- make ---------------------------------------------------------------------------

    def make_sub_blueprint(self, child_id: str | None = None, name: str | None = None) -> bool:
        """Move the selection into a new library blueprint; asks its id and name
        unless ``child_id`` is given. True when the parent was changed."""
        window = self.window
        selected = window.scene.selected_node_ids()
        if not selected:
            self._tell("Select the nodes to make into a sub-blueprint")
            return False
        document, control = window.document, window.library_control
        if child_id is None:
            dialog = BlueprintNameDialog(
                "Make sub-blueprint",
                blueprint_id="",
                name="",
                taken=control.taken_by,
                parent=window,
            )
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            child_id, name, description = dialog.blueprint_id(), dialog.name(), dialog.description()
        else:
            description = ""
        model = document.model
        try:
            plan = plan_extraction(
                document.to_blueprint(),
                selected,
                child_id=child_id,
                call_id=model.fresh_id(NodeTypeCatalog.id_base(CALL_TYPE)),
                child_name=name,
                description=description,
                positions={n: p for n in model.node_ids() if (p := model.position(n))},
            )
            write_blueprint(control.user_dir / f"{child_id}.json", plan.child)
            apply_extraction(document, plan)
        except EditError as exc:
            window.show_error("Cannot make a sub-blueprint", exc.message)
            return False
        except OSError as exc:
            window.show_error("Cannot make a sub-blueprint", f"{child_id}: {exc}")
            return False
        window.scene.select_nodes([plan.call.id])
        window.refresh_lists()
        self._tell(f"Moved {len(plan.selected)} node(s) into the sub-blueprint {child_id}")
        return True

    # -- open ---------------------------------------------------------------------------

    def call_target(self, node_id: str | None) -> str | None:
        """The child id of ``node_id`` (else the one selected node) when it is a call."""
        model = self.window.document.model
        if node_id is None:
            selected = self.window.scene.selected_node_ids()
            node_id = selected[0] if len(selected) == 1 else None
        if node_id is None or not model.has_node(node_id):
            return None
        spec = model.node(node_id)
        child = spec.params.get("blueprint_id")
        if spec.type != CALL_TYPE or not isinstance(child, str) or not child:
            return None
        return None if is_template(child) else child

    def open_sub_blueprint(self, node_id: str | None = None) -> bool:
        """Open the child of the call node (given or selected) with breadcrumbs back."""
        child_id = self.call_target(node_id)
        if child_id is None:
            self._tell("Select a sub-blueprint call node with a blueprint id to open it")
            return False
        path = self.window.library_control.user_file(child_id)
        child = self._read(child_id, path)
        if child is None:
            self.window.show_error(
                "Cannot open sub-blueprint", f"no blueprint {child_id!r} in the library"
            )
            return False
        return self.trail.open_child(child, path)

    def _read(self, blueprint_id: str, path: Path | None) -> Blueprint | None:
        example = self.window.library_control.examples / f"{blueprint_id}.json"
        for candidate in (path, example):
            if candidate is not None and candidate.is_file():
                try:
                    return load_blueprint_file(candidate)
                except (ConductorError, OSError):
                    return None
        return None

    def resolve(self, blueprint_id: str) -> Blueprint | None:
        """The child blueprint a call names: as open on the trail, else as saved."""
        for frame in self.trail.frames:
            if frame.blueprint.id == blueprint_id:
                return frame.blueprint
        return self._read(blueprint_id, self.window.library_control.user_file(blueprint_id))
