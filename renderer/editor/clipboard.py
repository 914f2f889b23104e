"""Copy and paste of nodes as blueprint text (pure Python, no Qt).

A copied selection is itself a small blueprint document — the nodes, the edges
between them and their positions — so it can be pasted into another blueprint,
into a text editor, or into a file, and any blueprint JSON or YAML can be pasted
into the canvas. Pasting never overwrites: a node whose id is taken gets a fresh
one (``fetch`` → ``fetch_1``), and the pasted edges and the pasted nodes' templates
follow the new ids. The copied nodes' pins (``ui.pins``) travel with them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.blueprint import Blueprint, EdgeSpec, NodeSpec, UiSpec
from app.blueprint_files import dump_blueprint, parse_blueprint_data
from renderer.canvas.layout import auto_layout, sequence_edges
from renderer.editor.errors import EditError
from renderer.editor.facts import Point
from renderer.editor.model import EditorModel
from renderer.editor.references import rename_references

#: How far a paste without a target point lands from the copied nodes.
PASTE_OFFSET = (40.0, 40.0)


def copy_text(model: EditorModel, node_ids: Iterable[str]) -> str:
    """The selected nodes (in blueprint order), the edges among them and their positions."""
    wanted = set(node_ids)
    nodes = [spec for spec in model.nodes if spec.id in wanted]
    edges = [e for e in model.edges if e.source in wanted and e.target in wanted]
    positions = {spec.id: pos for spec in nodes if (pos := model.position(spec.id)) is not None}
    fragment = Blueprint(
        id=model.blueprint_id,
        nodes=nodes,
        edges=None if model.is_sequential else edges,
        ui=UiSpec(positions=positions, pins={k: v for k, v in model.pins().items() if k in wanted}),
    )
    return dump_blueprint(fragment, "json")


def parse_fragment(text: str) -> Blueprint:
    """A pasted blueprint document (JSON or YAML); the ``id`` may be left out."""
    import yaml

    try:
        data: Any = json.loads(text)
    except ValueError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise EditError(f"the clipboard holds no blueprint: {exc}") from None
    if isinstance(data, list):
        data = {"nodes": data}
    elif isinstance(data, dict) and "nodes" not in data and {"id", "type"} <= data.keys():
        data = {"nodes": [data]}
    if not isinstance(data, dict):
        raise EditError("the clipboard holds no blueprint (expected a mapping with nodes)")
    data.setdefault("id", "clipboard")
    return parse_blueprint_data(data, source="<clipboard>")


@dataclass(frozen=True, slots=True)
class PastePlan:
    """What a paste adds, in order: nodes (with positions), their pins, then edges."""

    nodes: tuple[tuple[NodeSpec, Point], ...]
    edges: tuple[EdgeSpec, ...]
    pins: tuple[tuple[str, Any], ...] = ()

    @property
    def node_ids(self) -> list[str]:
        return [spec.id for spec, _pos in self.nodes]


def plan_paste(model: EditorModel, fragment: Blueprint, at: Point | None = None) -> PastePlan:
    """New ids for taken ones, rewritten references, and positions for the paste.

    With ``at``, the pasted group's top-left corner lands there; without it, the
    group keeps its layout shifted by :data:`PASTE_OFFSET`, so a paste next to the
    copied nodes does not hide them.
    """
    taken: set[str] = set()
    renames: dict[str, str] = {}
    for spec in fragment.nodes:
        new_id = spec.id
        if model.has_node(new_id) or new_id in taken:
            new_id = model.fresh_id(spec.id, taken | {s.id for s in fragment.nodes})
        renames[spec.id] = new_id
        taken.add(new_id)
    ids = [spec.id for spec in fragment.nodes]
    pairs = (
        sequence_edges(ids)
        if fragment.edges is None
        else [(e.source, e.target) for e in fragment.edges]
    )
    placed = dict(fragment.ui.positions)
    if any(node_id not in placed for node_id in ids):
        layout = auto_layout(ids, pairs)
        placed = {node_id: placed.get(node_id, layout[node_id]) for node_id in ids}
    left = min((placed[i][0] for i in ids), default=0.0)
    top = min((placed[i][1] for i in ids), default=0.0)
    dx, dy = (at[0] - left, at[1] - top) if at is not None else PASTE_OFFSET
    nodes = []
    for spec in fragment.nodes:
        params = spec.params
        for old, new in renames.items():
            if old != new:
                params = rename_references(params, old, new)
        renamed = spec.model_copy(update={"id": renames[spec.id], "params": params}, deep=True)
        x, y = placed[spec.id]
        nodes.append((renamed, (x + dx, y + dy)))
    if fragment.edges is None and not model.is_sequential:
        # A copied sequence pasted into a graph keeps its order as explicit edges.
        links = [EdgeSpec(source=s, target=t) for s, t in pairs]
    else:
        links = list(fragment.edges or [])
    edges = tuple(
        e.model_copy(update={"source": renames[e.source], "target": renames[e.target]})
        for e in links
        if e.source in renames and e.target in renames
    )
    pins = tuple((renames[k], v) for k, v in fragment.ui.pins.items() if k in renames)
    return PastePlan(tuple(nodes), edges, pins)
