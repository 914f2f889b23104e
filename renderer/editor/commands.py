"""Undoable edits: each command changes only the :class:`EditorModel`, never a view.

The canvas and the inspector redraw from the model's facts, so undo needs no view
code at all (orange-canvas-core's pattern). Each command checks its edit in its
constructor — a refused edit raises *before* it reaches the undo stack, because an
exception inside ``redo()`` would be raised from C++ and leave a broken entry — and
records in ``redo()`` what it needs to put things back exactly: a removed node's
index and its edges' indices, a replaced spec, a rename's rewritten templates.

Drags and repeated edits of one field coalesce through ``id()``/``mergeWith`` (like
Textual's ``can_replace``: the newer edit replaces the older for the same target), so
one drag is one undo step however many mouse moves it took.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from PySide6.QtGui import QUndoCommand

from app.blueprint import EdgeSpec, NodeSpec
from renderer.editor.edit_rules import UNSET, check_new_id
from renderer.editor.errors import EditError
from renderer.editor.facts import Point
from renderer.editor.model import EditorModel, FieldPath, RemovedNode, RenameRecord


class MergeId(IntEnum):
    """``QUndoCommand.id()`` values of the commands that coalesce (-1: never)."""

    MOVE = 1
    FIELD = 2


class _ModelCommand(QUndoCommand):
    """A command on one model."""

    def __init__(self, model: EditorModel, text: str, parent: QUndoCommand | None = None) -> None:
        super().__init__(text, parent)
        self._model = model


class AddNodeCommand(_ModelCommand):
    """Insert a node (at the end unless ``index`` is given), with its position."""

    def __init__(
        self,
        model: EditorModel,
        spec: NodeSpec,
        pos: Point | None = None,
        index: int | None = None,
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(model, f"Add {spec.id}", parent)
        check_new_id(model, spec.id)
        self._spec = spec.model_copy(deep=True)
        self._pos = pos
        self._index = len(model.nodes) if index is None else index

    @property
    def node_id(self) -> str:
        return self._spec.id

    def redo(self) -> None:
        self._model.insert_node(self._index, self._spec, self._pos)

    def undo(self) -> None:
        self._model.remove_node(self._spec.id)


class RemoveNodeCommand(_ModelCommand):
    """Remove a node and its edges; undo restores the node's and the edges' indices."""

    def __init__(
        self, model: EditorModel, node_id: str, parent: QUndoCommand | None = None
    ) -> None:
        super().__init__(model, f"Remove {node_id}", parent)
        model.index_of(node_id)
        self._node_id = node_id
        self._removed: RemovedNode | None = None

    def redo(self) -> None:
        self._removed = self._model.remove_node(self._node_id)

    def undo(self) -> None:
        assert self._removed is not None
        self._model.restore_node(self._removed)


class ConnectCommand(_ModelCommand):
    """Add an edge (at the end unless ``index`` is given); refused edges raise here."""

    def __init__(
        self,
        model: EditorModel,
        edge: EdgeSpec,
        index: int | None = None,
        parent: QUndoCommand | None = None,
    ) -> None:
        port = f".{edge.source_port}" if edge.source_port else ""
        super().__init__(model, f"Connect {edge.source}{port} → {edge.target}", parent)
        model.check_edge(edge)
        self._edge = edge.model_copy()
        self._index = len(model.edges) if index is None else index

    def redo(self) -> None:
        self._model.insert_edge(self._index, self._edge, check=False)

    def undo(self) -> None:
        self._model.remove_edge(self._index)


class DisconnectCommand(_ModelCommand):
    """Remove the edge at ``index``; undo puts it back at the same index."""

    def __init__(self, model: EditorModel, index: int, parent: QUndoCommand | None = None) -> None:
        if not 0 <= index < len(model.edges):
            raise EditError(f"no edge at index {index}")
        edge = model.edges[index]
        super().__init__(model, f"Disconnect {edge.source} → {edge.target}", parent)
        self._index = index
        self._edge = edge

    def redo(self) -> None:
        self._edge = self._model.remove_edge(self._index)

    def undo(self) -> None:
        self._model.insert_edge(self._index, self._edge, check=False)


class MoveNodesCommand(_ModelCommand):
    """Move nodes; moves of one drag (same ``drag_id``) merge into one undo step."""

    def __init__(
        self,
        model: EditorModel,
        moves: Mapping[str, Point | None],
        drag_id: int | None = None,
        parent: QUndoCommand | None = None,
    ) -> None:
        names = ", ".join(moves) if len(moves) <= 3 else f"{len(moves)} nodes"
        super().__init__(model, f"Move {names}", parent)
        self._old = {node_id: model.position(node_id) for node_id in moves}
        self._new = dict(moves)
        self._drag_id = drag_id

    def id(self) -> int:
        return int(MergeId.MOVE) if self._drag_id is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveNodesCommand) or other._drag_id != self._drag_id:
            return False
        for node_id, pos in other._new.items():
            self._old.setdefault(node_id, other._old[node_id])
            self._new[node_id] = pos
        self.setObsolete(self._new == self._old)
        return True

    def redo(self) -> None:
        for node_id, pos in self._new.items():
            self._model.move_node(node_id, pos)

    def undo(self) -> None:
        for node_id, pos in self._old.items():
            self._model.move_node(node_id, pos)


class ChangeNodeFieldCommand(_ModelCommand):
    """Set one node field (``("params", "url")``, ``("retry", "delay")``, ``("when",)``).

    With ``merge=True``, a following change of the same field of the same node
    replaces this one's new value instead of adding an undo step (spin-box arrows,
    live typing); a merge that ends where it started drops the step.
    """

    def __init__(
        self,
        model: EditorModel,
        node_id: str,
        path: FieldPath,
        value: Any,
        *,
        merge: bool = False,
        parent: QUndoCommand | None = None,
    ) -> None:
        label = ".".join(str(key) for key in path)
        super().__init__(model, f"Change {node_id}.{label}", parent)
        self._old = model.node(node_id)
        self._new = model.updated_node(node_id, path, value)
        self._key = (node_id, path)
        self._merge = merge

    def id(self) -> int:
        return int(MergeId.FIELD) if self._merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ChangeNodeFieldCommand) or other._key != self._key:
            return False
        if not other._merge:
            return False
        self._new = other._new
        self.setObsolete(self._new == self._old)
        return True

    def redo(self) -> None:
        self._model.replace_node(self._new)

    def undo(self) -> None:
        self._model.replace_node(self._old)


class RenameNodeCommand(_ModelCommand):
    """Give a node a new id; edges, position and template references follow."""

    def __init__(
        self, model: EditorModel, old_id: str, new_id: str, parent: QUndoCommand | None = None
    ) -> None:
        super().__init__(model, f"Rename {old_id} → {new_id}", parent)
        model.index_of(old_id)
        check_new_id(model, new_id)
        self._old_id, self._new_id = old_id, new_id
        self._record: RenameRecord | None = None

    def redo(self) -> None:
        self._record = self._model.rename_node(self._old_id, self._new_id)

    def undo(self) -> None:
        assert self._record is not None
        self._model.undo_rename(self._record)


class ChangeBlueprintFieldCommand(_ModelCommand):
    """Set a blueprint-level field (``name``, ``inputs``, ``outputs``, ...)."""

    def __init__(
        self, model: EditorModel, name: str, value: Any, parent: QUndoCommand | None = None
    ) -> None:
        super().__init__(model, f"Change {name}", parent)
        self._value = model.check_blueprint_field(name, value)
        self._old = model.blueprint_field(name)
        self._name = name

    def redo(self) -> None:
        self._model.set_blueprint_field(self._name, self._value)

    def undo(self) -> None:
        self._model.set_blueprint_field(self._name, self._old)


class ChangeUiFieldCommand(_ModelCommand):
    """Set an editor-only entry of the blueprint's ``ui`` (sticky notes, …)."""

    def __init__(
        self, model: EditorModel, name: str, value: Any, parent: QUndoCommand | None = None
    ) -> None:
        super().__init__(model, f"Change {name}", parent)
        self._value, self._old, self._name = value, model.ui_field(name), name

    def redo(self) -> None:
        self._model.set_ui_field(self._name, self._value)

    def undo(self) -> None:
        self._model.set_ui_field(self._name, self._old)


class PinNodeCommand(_ModelCommand):
    """Pin a value as a node's output (``ui.pins``), or unpin it with UNSET."""

    def __init__(
        self, model: EditorModel, node_id: str, value: Any, parent: QUndoCommand | None = None
    ) -> None:
        super().__init__(model, f"{'Unpin' if value is UNSET else 'Pin'} {node_id}", parent)
        model.index_of(node_id)
        self._node_id, self._value = node_id, value
        self._old = model.pins().get(node_id, UNSET)

    def redo(self) -> None:
        self._model.set_pin(self._node_id, self._value)

    def undo(self) -> None:
        self._model.set_pin(self._node_id, self._old)
