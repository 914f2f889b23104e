"""The blueprint being edited, as plain Python: the editor's single source of truth.

Everything the canvas and the inspector show is read from an :class:`EditorModel`,
and everything they change goes through :mod:`renderer.editor.commands`, which call
the mutating methods here. The model knows no Qt, so its rules (ids unique, no
cycles, ports that exist) and its undo symmetry are tested without a display.

Order is data: node order is the run order of a sequential blueprint, and undo puts
a node or an edge back at the index it had, so ``to_blueprint()`` after undo equals
``to_blueprint()`` before the edit. Listeners receive past-tense facts
(:mod:`renderer.editor.facts`) after each change.

Assumptions: specs handed out (``nodes``, ``node()``) are read-only by convention;
the model replaces a spec instead of mutating it, so a listener may keep the old one.
Edges loaded from a file are kept even when invalid (validation reports them); the
connection rules apply to edges the user adds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from app.blueprint import Blueprint, EdgeSpec, NodeSpec, UiSpec
from app.blueprint_files import problems_from_errors
from renderer.canvas.geometry import node_height
from renderer.canvas.layout import auto_layout, sequence_edges
from renderer.editor.edit_records import RemovedNode, RenameRecord
from renderer.editor.edit_rules import UNSET, check_edge, check_new_id, updated_spec
from renderer.editor.errors import EditError
from renderer.editor.facts import (
    BlueprintChanged,
    EdgeChanged,
    EdgeInserted,
    EdgeRemoved,
    Fact,
    ModelReset,
    NodeChanged,
    NodeInserted,
    NodeMoved,
    NodeRemoved,
    NodeRenamed,
    Point,
)
from renderer.editor.node_catalog import NodeTypeCatalog
from renderer.editor.node_index import NodeIndex
from renderer.editor.references import rename_references

__all__ = [
    "BLUEPRINT_FIELDS",
    "UNSET",
    "EditorModel",
    "FieldPath",
    "Listener",
    "RemovedNode",
    "RenameRecord",
]

FieldPath = tuple[str | int, ...]
Listener = Callable[[Fact], None]

#: Blueprint-level fields :meth:`EditorModel.set_blueprint_field` may change; every
#: field is kept through an edit (``triggers`` and ``concurrency`` have no form yet,
#: and a blueprint opened and saved in the app must not lose them).
BLUEPRINT_FIELDS: tuple[str, ...] = ("id", "name", "description", "version", "inputs")
BLUEPRINT_FIELDS += ("outputs", "vars", "error_handler", "triggers", "concurrency")


class EditorModel:
    """One blueprint being edited: ordered nodes and edges, positions, blueprint fields."""

    def __init__(self, catalog: NodeTypeCatalog | None = None) -> None:
        self.catalog = catalog or NodeTypeCatalog()
        self._listeners: list[Listener] = []
        self._meta: dict[str, Any] = {}
        self._ids = NodeIndex()
        self._ui_extra: dict[str, Any] = {}
        self._nodes: list[NodeSpec] = []
        self._edges: list[EdgeSpec] = []
        self._positions: dict[str, Point] = {}
        self._edges_declared = False
        #: Positions the file had for ids that are not nodes: kept, never shown.
        self._stale_positions: dict[str, Point] = {}
        self._load(Blueprint(id="untitled"))

    # -- listeners ---------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(fact)`` after every change."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _tell(self, fact: Fact) -> None:
        for listener in list(self._listeners):
            listener(fact)

    # -- whole blueprint ---------------------------------------------------------

    def from_blueprint(self, bp: Blueprint, *, fill_positions: bool = False) -> None:
        """Replace everything with ``bp``; ``fill_positions`` lays out nodes without one."""
        self._load(bp)
        if fill_positions:
            missing = [spec.id for spec in self._nodes if spec.id not in self._positions]
            if missing:
                placed = self.auto_positions()
                for node_id in missing:
                    self._positions[node_id] = placed[node_id]
        self._tell(ModelReset())

    def _load(self, bp: Blueprint) -> None:
        self._meta = bp.model_dump(include=set(BLUEPRINT_FIELDS))
        self._ui_extra = bp.ui.model_dump(exclude={"positions"})
        self._nodes = [spec.model_copy(deep=True) for spec in bp.nodes]
        self._edges = [edge.model_copy() for edge in bp.edges or []]
        self._edges_declared = bp.edges is not None
        ids = {spec.id for spec in self._nodes}
        self._positions = {k: (float(x), float(y)) for k, (x, y) in bp.ui.positions.items()}
        self._stale_positions = {k: v for k, v in self._positions.items() if k not in ids}

    def to_blueprint(self) -> Blueprint:
        """The blueprint as it stands: a new model, safe to keep or send.

        Positions are written in node order (plus any for unknown ids the file had),
        so removing and restoring a node gives the same document.
        """
        positions = {s.id: self._positions[s.id] for s in self._nodes if s.id in self._positions}
        for node_id, pos in self._stale_positions.items():
            positions.setdefault(node_id, pos)
        edges: list[EdgeSpec] | None = [e.model_copy() for e in self._edges]
        if not self._edges and not self._edges_declared:
            edges = None
        return Blueprint.model_validate(
            {
                **self._meta,
                "nodes": [spec.model_copy(deep=True) for spec in self._nodes],
                "edges": edges,
                "ui": UiSpec.model_validate({**self._ui_extra, "positions": positions}),
            }
        )

    @property
    def is_sequential(self) -> bool:
        """No edges and none declared: nodes run in list order, each feeding the next."""
        return not self._edges and not self._edges_declared

    # -- reading -----------------------------------------------------------------

    @property
    def blueprint_id(self) -> str:
        return str(self._meta["id"])

    def blueprint_field(self, name: str) -> Any:
        return self._meta[name]

    def ui_field(self, name: str) -> Any:
        """An editor-only entry of ``ui`` (notes, pins, …; outside the hash), or None."""
        return self._ui_extra.get(name)

    def set_ui_field(self, name: str, value: Any) -> Any:
        """Set (None: remove) an entry of ``ui``; returns the previous value."""
        old = self._ui_extra.pop(name, None)
        if value is not None:
            self._ui_extra[name] = value
        self._tell(BlueprintChanged(f"ui.{name}"))
        return old

    @property
    def nodes(self) -> Sequence[NodeSpec]:
        return tuple(self._nodes)

    @property
    def edges(self) -> Sequence[EdgeSpec]:
        return tuple(self._edges)

    def node_ids(self) -> list[str]:
        return [spec.id for spec in self._nodes]

    def index_of(self, node_id: str) -> int:
        """The node's index; EditError when there is no such node."""
        found = self._ids.find(self._nodes, node_id)
        if found is None:
            raise EditError(f"no node {node_id!r}", node_id=node_id)
        return found

    def has_node(self, node_id: str) -> bool:
        return self._ids.find(self._nodes, node_id) is not None

    def node(self, node_id: str) -> NodeSpec:
        return self._nodes[self.index_of(node_id)]

    def position(self, node_id: str) -> Point | None:
        return self._positions.get(node_id)

    def pins(self) -> dict[str, Any]:
        """``ui.pins``: node id → the output a run with ``use_pins`` uses instead."""
        return dict(self._ui_extra.get("pins") or {})

    def set_pin(self, node_id: str, value: Any) -> Any:
        """Pin ``value`` as the node's output (UNSET unpins); returns the old pin or UNSET."""
        index, pins = self.index_of(node_id), self.pins()
        old = pins.pop(node_id, UNSET)
        if value is not UNSET:
            pins[node_id] = value
        self._ui_extra["pins"] = pins
        self._tell(NodeChanged(index, node_id))
        return old

    def output_ports(self, node_id: str) -> list[str] | None:
        """The node's named output ports (``[]``: one unnamed output; None: unknown)."""
        return self.catalog.output_ports(self.node(node_id))

    def edge_pairs(self) -> list[tuple[str, str]]:
        """``(source, target)`` of every edge, or of the implicit chain when sequential."""
        if self.is_sequential:
            return sequence_edges(self.node_ids())
        return [(e.source, e.target) for e in self._edges]

    def auto_positions(self) -> dict[str, Point]:
        """Where :func:`~renderer.canvas.layout.auto_layout` would put every node."""
        heights = {n: node_height(len(self.output_ports(n) or [])) for n in self.node_ids()}
        return auto_layout(self.node_ids(), self.edge_pairs(), heights=heights)

    def fresh_id(self, base: str, taken: set[str] | None = None) -> str:
        """``base_1``, ``base_2``, ...: the first id not in use (nor in ``taken``)."""
        used = set(self.node_ids()) | (taken or set())
        n = 1
        while f"{base}_{n}" in used:
            n += 1
        return f"{base}_{n}"

    # -- nodes -------------------------------------------------------------------

    def insert_node(self, index: int, spec: NodeSpec, pos: Point | None = None) -> None:
        """Put ``spec`` at ``index`` (0..len); EditError when its id is taken."""
        check_new_id(self, spec.id)
        if not 0 <= index <= len(self._nodes):
            raise EditError(f"node index {index} out of range 0..{len(self._nodes)}")
        self._nodes.insert(index, spec.model_copy(deep=True))
        if pos is not None:
            self._positions[spec.id] = pos
        self._tell(NodeInserted(index, spec.id))

    def remove_node(self, node_id: str) -> RemovedNode:
        """Remove the node and its edges (each edge first, highest index first)."""
        index = self.index_of(node_id)
        attached = tuple(
            (k, e) for k, e in enumerate(self._edges) if node_id in (e.source, e.target)
        )
        for k, _edge in reversed(attached):
            self.remove_edge(k)
        spec = self._nodes.pop(index)
        pos = self._positions.pop(node_id, None)
        self._tell(NodeRemoved(index, node_id))
        return RemovedNode(index, spec, pos, attached)

    def restore_node(self, removed: RemovedNode) -> None:
        """Undo :meth:`remove_node`: the node and its edges at their old indices."""
        self.insert_node(removed.index, removed.spec, removed.pos)
        for k, edge in removed.edges:
            self.insert_edge(k, edge, check=False)

    def move_node(self, node_id: str, pos: Point | None) -> None:
        """Set (or, with None, forget) the node's canvas position."""
        self.index_of(node_id)
        if pos is None:
            self._positions.pop(node_id, None)
        else:
            self._positions[node_id] = (float(pos[0]), float(pos[1]))
        self._tell(NodeMoved(node_id, self._positions.get(node_id)))

    def updated_node(self, node_id: str, path: FieldPath, value: Any) -> NodeSpec:
        """The node's spec with ``path`` set to ``value``, validated; the model is unchanged.

        ``value`` :data:`~renderer.editor.edit_rules.UNSET` removes the key (a param
        goes back to its default). The id cannot change here: use :meth:`rename_node`.
        """
        return updated_spec(
            self.node(node_id), path, value, where=f"nodes[{self.index_of(node_id)}]"
        )

    def replace_node(self, spec: NodeSpec) -> NodeSpec:
        """Swap in a new spec for the node with the same id; returns the old one."""
        index = self.index_of(spec.id)
        old = self._nodes[index]
        self._nodes[index] = spec.model_copy(deep=True)
        self._tell(NodeChanged(index, spec.id))
        return old

    def set_node_field(self, node_id: str, path: FieldPath, value: Any) -> NodeSpec:
        """Set one field (``("params", "url")``, ``("retry", "max_attempts")``, ``("timeout",)``).

        Returns the spec before the change. ``("id",)`` renames the node.
        """
        if path == ("id",):
            old = self.node(node_id)
            self.rename_node(node_id, str(value))
            return old
        return self.replace_node(self.updated_node(node_id, path, value))

    def rename_node(
        self, old_id: str, new_id: str, *, rewrite_references: bool = True
    ) -> RenameRecord:
        """Give a node a new id; its edges, position and (by default) templates follow."""
        index = self.index_of(old_id)
        if new_id != old_id:
            check_new_id(self, new_id)
        self._nodes[index] = self._nodes[index].model_copy(update={"id": new_id})
        self._positions = {(new_id if k == old_id else k): v for k, v in self._positions.items()}
        self._ui_extra["pins"] = {(new_id if k == old_id else k): v for k, v in self.pins().items()}
        self._tell(NodeRenamed(index, old_id, new_id))
        for k, edge in enumerate(self._edges):
            if old_id in (edge.source, edge.target):
                source = new_id if edge.source == old_id else edge.source
                target = new_id if edge.target == old_id else edge.target
                self._edges[k] = edge.model_copy(update={"source": source, "target": target})
                self._tell(EdgeChanged(k, edge, self._edges[k]))
        rewritten: list[NodeSpec] = []
        outputs, outputs_changed = self._meta.get("outputs"), False
        if rewrite_references:
            for spec in list(self._nodes):
                params = rename_references(spec.params, old_id, new_id)
                if params is not spec.params:
                    rewritten.append(self.replace_node(spec.model_copy(update={"params": params})))
            if outputs is not None:
                renamed = {
                    name: new_id if value == old_id else rename_references(value, old_id, new_id)
                    for name, value in outputs.items()
                }
                if renamed != outputs:
                    self.set_blueprint_field("outputs", renamed)
                    outputs_changed = True
        return RenameRecord(old_id, new_id, tuple(rewritten), outputs, outputs_changed)

    def undo_rename(self, record: RenameRecord) -> None:
        """Put back exactly what :meth:`rename_node` changed."""
        self.rename_node(record.new_id, record.old_id, rewrite_references=False)
        for spec in record.rewritten:
            self.replace_node(spec)
        if record.outputs_changed:
            self.set_blueprint_field("outputs", record.outputs)

    # -- edges -------------------------------------------------------------------

    def check_edge(self, edge: EdgeSpec) -> None:
        """Raise EdgeRefusedError when ``edge`` breaks a connection rule."""
        check_edge(self, edge)

    def insert_edge(self, index: int, edge: EdgeSpec, *, check: bool = True) -> None:
        """Put ``edge`` at ``index``; ``check=False`` skips the rules (undo, loading)."""
        if check:
            check_edge(self, edge)
        if not 0 <= index <= len(self._edges):
            raise EditError(f"edge index {index} out of range 0..{len(self._edges)}")
        self._edges.insert(index, edge.model_copy())
        self._tell(EdgeInserted(index, edge))

    def remove_edge(self, index: int) -> EdgeSpec:
        """Remove and return the edge at ``index``."""
        if not 0 <= index < len(self._edges):
            raise EditError(f"no edge at index {index}")
        edge = self._edges.pop(index)
        self._tell(EdgeRemoved(index, edge))
        return edge

    # -- blueprint fields --------------------------------------------------------

    def check_blueprint_field(self, name: str, value: Any) -> Any:
        """The value as the blueprint would store it; EditError (with problems) if invalid."""
        if name not in BLUEPRINT_FIELDS:
            raise EditError(f"{name!r} is not a blueprint field", where=name)
        candidate = {**self._meta, name: value}
        try:
            checked = Blueprint.model_validate(candidate)
        except ValidationError as exc:
            problems = problems_from_errors(exc.errors(), candidate, model=Blueprint)
            raise EditError(f"invalid {name}", where=name, problems=problems) from None
        return checked.model_dump(include={name})[name]

    def set_blueprint_field(self, name: str, value: Any) -> Any:
        """Set ``id``, ``name``, ``description``, ``version``, ``inputs``, ``outputs`` or ``vars``.

        Returns the previous value; EditError (with problems) when the value is invalid.
        """
        stored = self.check_blueprint_field(name, value)
        old = self._meta[name]
        self._meta[name] = stored
        self._tell(BlueprintChanged(name))
        return old
