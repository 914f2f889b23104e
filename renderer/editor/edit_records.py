"""What an edit of the model took away or changed, kept so its undo is exact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.blueprint import EdgeSpec, NodeSpec
from renderer.canvas.layout import Point


@dataclass(frozen=True, slots=True)
class RemovedNode:
    """Everything :meth:`EditorModel.remove_node` took away, to put it back exactly."""

    index: int
    spec: NodeSpec
    pos: Point | None
    #: The node's edges with the indices they had, ascending.
    edges: tuple[tuple[int, EdgeSpec], ...]


@dataclass(frozen=True, slots=True)
class RenameRecord:
    """What :meth:`EditorModel.rename_node` changed besides the id, for undo."""

    old_id: str
    new_id: str
    #: Specs (before the rename) of nodes whose templates named the old id.
    rewritten: tuple[NodeSpec, ...]
    #: ``outputs`` before the rename, when it named the old id.
    outputs: dict[str, Any] | None
    outputs_changed: bool
