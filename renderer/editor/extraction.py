"""Planning "Make sub-blueprint": selected nodes become a child blueprint and one call.

Pure (no Qt): :func:`plan_extraction` reads a blueprint and a selection and returns
the child blueprint and what the parent must become, so the window can save the
child first and then apply the parent's edits as one undo step
(:mod:`renderer.editor.extract_edit`). The aim is that the child runs the same
computation the selection ran in place:

* **Values flowing in** become the child's declared ``inputs`` and the call node's
  ``inputs`` mapping. An upstream node ``u`` wired into the selection becomes an
  input named after it (``"{{ nodes.u.output }}"`` in the call) and, inside the
  child, a ``set`` node *with the same id* ``u`` (named "Input u (from the
  parent)") reading ``{{ inputs.u }}``: the
  selected nodes keep their wires, so their implicit input (one upstream's output,
  or ``{upstream_id: output}``) is what it was. A node only read by a template
  (``{{ nodes.w.output }}``) becomes an input too, the template reading
  ``inputs.w`` instead (no proxy node, so no race with it). Parent inputs the
  selection reads (all of them when a selected node had no upstream and so
  received them as its input) are passed through under their own names.
* **Values flowing out** become the child's ``outputs``, one per selected node
  wired or referenced outside (and per selected sink), named after the node.
  Outside, ``{{ nodes.s.output }}`` reads ``{{ nodes.<call>.output.s }}``: the call
  node's output is the child's outputs object. A node wired from the selection is
  wired from the call node and so receives that object as its implicit input.

Refused, with the reason: an empty selection, a branch port wire leaving the
selection (the call node has no ports), and a selection an outside node both
depends on and feeds (extracting it would close a loop).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.blueprint import Blueprint, EdgeSpec, InputSpec, NodeSpec, UiSpec
from app.errors import TemplateError
from app.template_refs import template_references
from renderer.editor.errors import EditError
from renderer.editor.facts import Point

#: The node type that runs another blueprint as a child execution.
CALL_TYPE = "blueprint.call"
#: The node type standing in, inside the child, for an upstream node of the parent.
PROXY_TYPE = "set"
_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_NOT_WORD = re.compile(r"[^A-Za-z0-9_]+")
#: Horizontal gap between an input proxy and the selection in the child.
_PROXY_GAP = 260.0


class ExtractionError(EditError):
    """The selection cannot become a sub-blueprint; the message says why."""


@dataclass(frozen=True)
class Extraction:
    """The child blueprint and the parent's edits (see the module docstring)."""

    child: Blueprint
    call: NodeSpec
    #: Where the call node goes in the parent's node list (the first selected's index).
    call_index: int
    call_position: Point | None
    selected: tuple[str, ...]
    incoming: tuple[EdgeSpec, ...]
    outgoing: tuple[EdgeSpec, ...]
    #: Outside nodes whose params read a selected node's output: their new params.
    rewritten: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The parent's new ``outputs`` when they named a selected node, else None.
    outputs: dict[str, Any] | None = None


def identifier(text: str, taken: set[str]) -> str:
    """A template-friendly name from ``text`` (``fetch-2`` → ``fetch_2``), not in ``taken``."""
    base = _NOT_WORD.sub("_", text).strip("_") or "value"
    if base[0].isdigit():
        base = f"n_{base}"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def rewrite_output_reads(value: Any, node_id: str, replacement: str) -> Any:
    """A copy of ``value`` where template reads of ``nodes.<node_id>.output`` (dotted or
    quoted) read ``replacement`` (an expression such as ``inputs.fetch``) instead."""
    if isinstance(value, str):
        if node_id not in value:
            return value
        key = re.escape(node_id)
        pattern = re.compile(
            rf"""(?<![\w.])nodes(?:\.{key}|\[(['"]){key}\1\])(?:\.output|\[(['"])output\2\])(?!\w)"""
        )
        return _BLOCK.sub(lambda m: pattern.sub(replacement, m.group(0)), value)
    if isinstance(value, dict):
        return {k: rewrite_output_reads(v, node_id, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite_output_reads(v, node_id, replacement) for v in value]
    return value


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class _Reads:
    """What templates in some params read: node ids and input names (``all_inputs``
    when a template reads ``inputs`` by a computed key)."""

    nodes: set[str] = field(default_factory=set)
    inputs: set[str] = field(default_factory=set)
    all_inputs: bool = False


def _reads(values: Iterable[Any]) -> _Reads:
    found = _Reads()
    for value in values:
        for text in _strings(value):
            if "{" not in text:
                continue
            try:
                refs = template_references(text)
            except TemplateError:
                continue  # a syntax error is validation's to report, where it stands
            found.nodes.update(str(chain[0]) for chain in refs.nodes)
            found.inputs.update(str(chain[0]) for chain in refs.inputs)
            found.all_inputs |= "inputs" in refs.names and not refs.inputs
    return found


def _pairs(bp: Blueprint) -> list[EdgeSpec]:
    """The edges, or the implicit chain of a sequential blueprint."""
    if bp.edges is not None:
        return list(bp.edges)
    ids = [n.id for n in bp.nodes]
    return [EdgeSpec(source=a, target=b) for a, b in itertools.pairwise(ids)]


def _downstream_of(starts: set[str], edges: list[EdgeSpec]) -> set[str]:
    after: dict[str, list[str]] = {}
    for edge in edges:
        after.setdefault(edge.source, []).append(edge.target)
    seen, stack = set(starts), list(starts)
    while stack:
        for nxt in after.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen - starts


def _check(bp: Blueprint, chosen: set[str], edges: list[EdgeSpec], referenced: set[str]) -> None:
    if not chosen:
        raise ExtractionError("select the nodes to make into a sub-blueprint")
    for edge in edges:
        if edge.source in chosen and edge.target not in chosen and edge.source_port:
            raise ExtractionError(
                f"the {edge.source_port!r} branch of {edge.source!r} leads out of the "
                f"selection to {edge.target!r}: select its targets too, or leave it out"
            )
    later = _downstream_of(chosen, edges)
    looped = sorted(n for n in later if n not in chosen and _downstream_of({n}, edges) & chosen)
    looped += sorted(n for n in referenced if n in later and n not in looped)
    if looped:
        raise ExtractionError(
            f"{looped[0]!r} depends on the selection and feeds it: select it too, "
            "or leave out the nodes around it"
        )


def plan_extraction(
    bp: Blueprint,
    selected: Iterable[str],
    *,
    child_id: str,
    call_id: str,
    child_name: str | None = None,
    description: str = "",
    positions: Mapping[str, Point] | None = None,
) -> Extraction:
    """The child and the parent's edits for moving ``selected`` into ``child_id``."""
    ids = [n.id for n in bp.nodes]
    chosen = {n for n in selected if n in ids}
    order = [n for n in ids if n in chosen]
    edges = _pairs(bp)
    specs = {n.id: n for n in bp.nodes}
    inside_reads = _reads(specs[n].params for n in order)
    external_refs = {n for n in inside_reads.nodes if n in specs and n not in chosen}
    _check(bp, chosen, edges, external_refs)
    places = dict(positions if positions is not None else bp.ui.positions)

    entering = [e for e in edges if e.target in chosen and e.source not in chosen]
    leaving = [e for e in edges if e.source in chosen and e.target not in chosen]
    has_upstream = {e.target for e in edges}
    roots = [n for n in order if n not in has_upstream]

    # -- inputs: parent inputs read (all when a root received them), then nodes read
    names: set[str] = set()
    child_inputs: dict[str, InputSpec] = {}
    mapping: dict[str, str] = {}
    wanted = set(bp.inputs) if roots or inside_reads.all_inputs else inside_reads.inputs
    for name, declared in bp.inputs.items():
        if name in wanted:
            names.add(name)
            child_inputs[name] = declared.model_copy()
            mapping[name] = f"{{{{ inputs.{name} }}}}"
    feeding = list(dict.fromkeys([e.source for e in entering] + sorted(external_refs)))
    input_of: dict[str, str] = {}
    for node_id in feeding:
        name = identifier(node_id, names)
        input_of[node_id] = name
        child_inputs[name] = InputSpec(description=f"the output of {node_id!r} in {bp.id}")
        mapping[name] = _read_output(node_id)

    # -- the child's nodes: proxies for wired upstreams, then the selection
    child_nodes: list[NodeSpec] = []
    wired = list(dict.fromkeys(e.source for e in entering))
    for node_id in wired:
        value = f"{{{{ inputs.{input_of[node_id]} }}}}"
        # Named for what it is: on the child's canvas it looked like a copy of ``u``.
        name = f"Input {input_of[node_id]} (from the parent)"
        child_nodes.append(
            NodeSpec(id=node_id, type=PROXY_TYPE, name=name, params={"value": value})
        )
    for node_id in order:
        params = specs[node_id].params
        for ref in sorted(external_refs - set(wired)):
            params = rewrite_output_reads(params, ref, f"inputs.{input_of[ref]}")
        child_nodes.append(specs[node_id].model_copy(update={"params": params}, deep=True))
    child_edges = [e for e in edges if e.source in chosen and e.target in chosen]
    child_edges += _unique(EdgeSpec(source=e.source, target=e.target) for e in entering)

    # -- outputs: selected nodes wired, referenced or named outside, and selected sinks
    outside = [s for s in bp.nodes if s.id not in chosen]
    outside_reads = _reads(s.params for s in outside)
    parent_outputs = bp.outputs or {}
    output_reads = _reads(parent_outputs.values())
    named = {v for v in parent_outputs.values() if isinstance(v, str) and v in chosen}
    sources = {e.source for e in edges}
    exits = [
        n
        for n in order
        if n in {e.source for e in leaving}
        or n in outside_reads.nodes
        or n in output_reads.nodes
        or n in named
        or n not in sources
    ]
    out_names: set[str] = set()
    output_of = {n: identifier(n, out_names) for n in exits}
    child_outputs = {output_of[n]: _read_output(n) for n in exits}

    # -- the parent: a call node where the selection was
    call = NodeSpec(
        id=call_id,
        type=CALL_TYPE,
        params={"blueprint_id": child_id, "inputs": mapping},
    )
    incoming = _unique(
        EdgeSpec(source=e.source, target=call_id, source_port=e.source_port) for e in entering
    )
    for ref in sorted(external_refs):
        if not any(e.source == ref for e in incoming):
            incoming.append(EdgeSpec(source=ref, target=call_id))
    outgoing = _unique(EdgeSpec(source=call_id, target=e.target) for e in leaving)
    rewritten: dict[str, dict[str, Any]] = {}
    for spec in outside:
        params = spec.params
        for node_id in exits:
            params = rewrite_output_reads(
                params, node_id, f"nodes.{call_id}.output.{output_of[node_id]}"
            )
        if params != spec.params:
            rewritten[spec.id] = params
    new_outputs: dict[str, Any] | None = None
    if bp.outputs is not None:
        changed = {}
        for key, value in bp.outputs.items():
            if isinstance(value, str) and value in chosen:
                changed[key] = _read_output(call_id, output_of[value])
                continue
            new_value = value
            for node_id in exits:
                read = f"nodes.{call_id}.output.{output_of[node_id]}"
                new_value = rewrite_output_reads(new_value, node_id, read)
            changed[key] = new_value
        if changed != bp.outputs:
            new_outputs = changed

    child = Blueprint(
        id=child_id,
        name=child_name,
        description=description,
        inputs=child_inputs,
        nodes=child_nodes,
        edges=child_edges,
        outputs=child_outputs or None,
        vars=dict(bp.vars),
        ui=UiSpec(
            positions=_child_positions(order, wired, places),
            pins={n: v for n, v in bp.ui.pins.items() if n in chosen},
        ),
    )
    return Extraction(
        child=child,
        call=call,
        call_index=ids.index(order[0]),
        call_position=_centre([places[n] for n in order if n in places]),
        selected=tuple(order),
        incoming=tuple(incoming),
        outgoing=tuple(outgoing),
        rewritten=rewritten,
        outputs=new_outputs,
    )


def _unique(edges: Iterable[EdgeSpec]) -> list[EdgeSpec]:
    """The edges without repeats, in order (EdgeSpec is not hashable)."""
    seen: dict[tuple[str, str, str | None], EdgeSpec] = {}
    for edge in edges:
        seen.setdefault((edge.source, edge.target, edge.source_port), edge)
    return list(seen.values())


def _read_output(node_id: str, key: str | None = None) -> str:
    """``{{ nodes.<id>.output }}`` (``.key`` appended), quoted when the id is no name."""
    head = f"nodes.{node_id}" if identifier(node_id, set()) == node_id else f"nodes[{node_id!r}]"
    tail = f".{key}" if key else ""
    return f"{{{{ {head}.output{tail} }}}}"


def _centre(points: list[Point]) -> Point | None:
    if not points:
        return None
    return (sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points))


def _child_positions(
    order: list[str], proxies: list[str], places: Mapping[str, Point]
) -> dict[str, tuple[float, float]]:
    """The selection where it stood; proxies in a column left of it."""
    kept = {n: places[n] for n in order if n in places}
    left = min((x for x, _ in kept.values()), default=0.0) - _PROXY_GAP
    top = min((y for _, y in kept.values()), default=0.0)
    for k, node_id in enumerate(proxies):
        kept[node_id] = (left, top + 120.0 * k)
    return kept
