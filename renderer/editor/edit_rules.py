"""The rules an edit must pass before the model changes, each refusal with its reason.

Kept apart from :mod:`renderer.editor.model` so the rules read as a list: a new id
must be unique and non-empty; an edge may not loop to itself, repeat another,
name a port the source does not have, or close a cycle; a field change must leave
a valid :class:`~app.blueprint.NodeSpec`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from app.blueprint import EdgeSpec, NodeSpec
from app.blueprint_files import problems_from_errors
from renderer.editor.errors import EdgeRefusal, EdgeRefusedError, EditError

if TYPE_CHECKING:
    from renderer.editor.model import EditorModel, FieldPath


class _Unset:
    """The value that removes a field (a param falls back to its default)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __deepcopy__(self, memo: dict[int, Any]) -> _Unset:
        return self


#: Pass as a value to remove the field instead of setting it.
UNSET: Final = _Unset()

#: Node fields a field path may start with (``id`` changes through a rename).
NODE_FIELDS = (
    "name",
    "params",
    "retry",
    "timeout",
    "when",
    "on_error",
    "runner",
    "disabled",
    "record",
)
_MAX_ID = 200


def check_new_id(model: EditorModel, node_id: str) -> None:
    """EditError unless ``node_id`` is a usable id not yet taken."""
    if not node_id.strip():
        raise EditError("a node id must not be empty", where="id")
    if len(node_id) > _MAX_ID:
        raise EditError(f"a node id must be at most {_MAX_ID} characters", where="id")
    if model.has_node(node_id):
        raise EditError(f"there is already a node {node_id!r}", where="id", node_id=node_id)


def _reaches(model: EditorModel, start: str, goal: str) -> bool:
    """Whether ``start`` leads to ``goal``, through the edges or, in a sequential
    blueprint, through the implicit chain the first drawn wire turns into edges (a
    backward wire there was previewed as valid, then refused with nothing said)."""
    downstream: dict[str, list[str]] = {}
    for source, target in model.edge_pairs():
        downstream.setdefault(source, []).append(target)
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in downstream.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def check_edge(model: EditorModel, edge: EdgeSpec) -> None:
    """EdgeRefusedError naming the first connection rule ``edge`` breaks."""
    for end in (edge.source, edge.target):
        if not model.has_node(end):
            raise EdgeRefusedError(f"there is no node {end!r}", EdgeRefusal.UNKNOWN_NODE)
    if edge.source == edge.target:
        raise EdgeRefusedError(
            f"a node cannot feed itself ({edge.source!r})", EdgeRefusal.SELF_LOOP
        )
    for k, other in enumerate(model.edges):
        if (other.source, other.target, other.source_port) == (
            edge.source,
            edge.target,
            edge.source_port,
        ):
            raise EdgeRefusedError(
                f"{edge.source} → {edge.target} is already connected (edges[{k}])",
                EdgeRefusal.DUPLICATE,
                where=f"edges[{k}]",
            )
    if edge.source_port is not None:
        ports = model.output_ports(edge.source)
        if ports is not None and edge.source_port not in ports:
            listed = ", ".join(ports) if ports else "none: it has one unnamed output"
            raise EdgeRefusedError(
                f"node {edge.source!r} has no output port {edge.source_port!r} (ports: {listed})",
                EdgeRefusal.UNKNOWN_PORT,
            )
    if _reaches(model, edge.target, edge.source):
        raise EdgeRefusedError(
            f"{edge.source} → {edge.target} would close a loop: "
            f"{edge.target!r} already leads to {edge.source!r}",
            EdgeRefusal.CYCLE,
        )


def _set_in(container: Any, path: FieldPath, value: Any) -> None:
    """Set (or with UNSET remove) ``path`` inside nested dicts/lists, creating dicts."""
    *parents, last = path
    for key in parents:
        if isinstance(container, dict):
            if not isinstance(container.get(key), dict | list):
                container[key] = {}
            container = container[key]
        elif isinstance(container, list) and isinstance(key, int) and key < len(container):
            container = container[key]
        else:
            raise EditError(f"cannot reach {key!r} in a {type(container).__name__}")
    if value is UNSET:
        if isinstance(container, dict):
            container.pop(last, None)
        elif isinstance(container, list) and isinstance(last, int) and last < len(container):
            del container[last]
    elif isinstance(container, dict):
        container[last] = value
    elif isinstance(container, list) and isinstance(last, int) and last <= len(container):
        container[last : last + 1] = [value]
    else:
        raise EditError(f"cannot set {last!r} in a {type(container).__name__}")


def updated_spec(spec: NodeSpec, path: FieldPath, value: Any, *, where: str) -> NodeSpec:
    """``spec`` with ``path`` set to ``value``, validated; EditError lists what is wrong."""
    if not path or path[0] not in NODE_FIELDS:
        fields = ", ".join(NODE_FIELDS)
        raise EditError(f"cannot set {path!r}: the path must start with one of {fields}")
    data = spec.model_dump(exclude_unset=True)
    data["id"], data["type"] = spec.id, spec.type
    _set_in(data, path, copy.deepcopy(value))
    try:
        return NodeSpec.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_errors(exc.errors(), data, base=where, model=NodeSpec)
        message = "; ".join(f"{p.where.removeprefix(where + '.')}: {p.message}" for p in problems)
        raise EditError(message or "invalid value", where=where, problems=problems) from None
