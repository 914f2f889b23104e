"""What the editor model tells its listeners: one past-tense fact per change.

Each fact is emitted *after* the model changed, so a listener that reads the model
while handling it sees the state the fact describes. Facts carry indices because
order is data here: nodes run in list order in a sequential blueprint, and undo
puts a node or edge back exactly where it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.blueprint import EdgeSpec

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class NodeInserted:
    """A node now stands at ``index`` of the node list."""

    index: int
    node_id: str


@dataclass(frozen=True, slots=True)
class NodeRemoved:
    """The node that stood at ``index`` is gone (its edges were removed first)."""

    index: int
    node_id: str


@dataclass(frozen=True, slots=True)
class NodeMoved:
    """The node's canvas position changed (``None``: it has no stored position)."""

    node_id: str
    pos: Point | None


@dataclass(frozen=True, slots=True)
class NodeChanged:
    """The node's spec was replaced (params, retry, timeout, ...); its id is the same."""

    index: int
    node_id: str


@dataclass(frozen=True, slots=True)
class NodeRenamed:
    """The node at ``index`` changed id; edges naming it follow with EdgeChanged facts."""

    index: int
    old_id: str
    new_id: str


@dataclass(frozen=True, slots=True)
class EdgeInserted:
    """An edge now stands at ``index`` of the edge list."""

    index: int
    edge: EdgeSpec


@dataclass(frozen=True, slots=True)
class EdgeRemoved:
    """The edge that stood at ``index`` is gone."""

    index: int
    edge: EdgeSpec


@dataclass(frozen=True, slots=True)
class EdgeChanged:
    """The edge at ``index`` was replaced (a rename changed its ends)."""

    index: int
    old: EdgeSpec
    edge: EdgeSpec


@dataclass(frozen=True, slots=True)
class BlueprintChanged:
    """A blueprint-level field (``name``, ``inputs``, ``outputs``, ...) changed."""

    field: str


@dataclass(frozen=True, slots=True)
class ModelReset:
    """The whole blueprint was replaced; listeners rebuild from scratch."""


Fact = (
    NodeInserted
    | NodeRemoved
    | NodeMoved
    | NodeChanged
    | NodeRenamed
    | EdgeInserted
    | EdgeRemoved
    | EdgeChanged
    | BlueprintChanged
    | ModelReset
)
