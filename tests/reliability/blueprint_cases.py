"""Hypothesis strategies for blueprints: valid ones, and corruptions of them.

A case is a document (usually a dict, as a script or the wire hands it over) plus
a label saying what was done to it, so a failure report says which corruption
broke what. Valid blueprints use only node types that are safe to run anywhere
(no code, files, SQL or network) with tiny delays, because the harness executes
them; a corruption may put any value anywhere, so :func:`safe_to_execute` is
checked again before a run.

Huge values (long strings, deep nesting, thousands of nodes) are built from a
drawn size rather than drawn character by character, which keeps Hypothesis'
data budget small and the cases fast to generate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

#: Node types the fuzzed blueprints may run: no code, files, SQL or network.
SAFE_TYPES = ("set", "json.transform", "if", "switch", "merge", "delay", "log")
#: A delay in an executed blueprint is clamped to this many seconds.
MAX_DELAY = 0.01

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class BlueprintCase:
    """One fuzzed document and how it was made (``valid`` ones must validate clean)."""

    label: str
    document: Any
    valid: bool


_WEIRD_TEXT = (
    "\x00",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "\u202eevil",  # right-to-left override
    "e\u0301\u0301\u0301",  # stacked combining marks
    "👩\u200d👩\u200d👧",  # a ZWJ emoji sequence
    "\ufeff",
    "line\nbreak",
    "tab\there",
    "../../etc/passwd",
    "a" * 201,  # one past the id limit
    "",
    " ",
    "nodes[0]",
    "{{",
)
_BAD_TEMPLATES = (
    "{{",
    "{{ }}",
    "{{ nodes. }}",
    "{% for x in %}",
    "{% if %}{% endif",
    "{{ inputs.x | no_such_filter }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ input.__globals__ }}",
    "{{ 1 / 0 }}",
    "{{ 'a' * 100000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ range(100000000) | list }}",
    "{{ ghost.output }}",
    "{{ nodes.ghost.output }}",
    "{{ inputs.missing }}",
    "{{ lipsum(100000, True, 1000, 1000) }}",
    "{{ execution.id ~ execution.id ~ execution.id }}{{ foo(",
    "{% raw %}",
    "{{ input }}" * 1000,
    "{# unterminated comment",
)
_EXPRESSIONS = ("@", "a", "length(@)", "[0]", "keys(@)", "{x: @}", "@ | [0]", "[*]")
_LEVELS = ("debug", "info", "warning", "error")

ids = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
any_values = st.recursive(
    scalars | st.floats() | st.integers() | st.sampled_from(_WEIRD_TEXT),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def _params(draw: st.DrawFn, node_type: str, templates: list[str]) -> dict[str, Any]:
    template = st.sampled_from(templates)
    match node_type:
        case "set":
            return {"value": draw(json_values | template | st.lists(template, max_size=3))}
        case "json.transform":
            return {"expression": draw(st.sampled_from(_EXPRESSIONS))}
        case "if":
            return {"condition": draw(template | st.sampled_from([True, False, 0, 1, "no"]))}
        case "switch":
            cases = draw(st.lists(names.filter(lambda c: c != "default"), max_size=3, unique=True))
            return {"value": draw(template | scalars), "cases": cases}
        case "merge":
            return draw(st.sampled_from([{}, {"mode": "object"}, {"mode": "list"}]))
        case "delay":
            return {"seconds": draw(st.floats(0, MAX_DELAY / 2))}
        case _:
            return {
                "message": draw(template | st.text(max_size=20)),
                "level": draw(st.sampled_from(_LEVELS)),
            }


def _ports(node: dict[str, Any]) -> list[str | None]:
    if node["type"] == "if":
        return [None, "true", "false"]
    if node["type"] == "switch":
        return [None, *node["params"]["cases"], "default"]
    return [None]


@st.composite
def valid_blueprints(draw: st.DrawFn) -> dict[str, Any]:
    """A blueprint that validates clean and runs only safe nodes, briefly."""
    count = draw(st.integers(1, 6))
    node_ids = draw(st.lists(ids, min_size=count, max_size=count, unique=True))
    inputs = draw(
        st.dictionaries(names, st.fixed_dictionaries({"default": json_values}), max_size=3)
    )
    dag = draw(st.booleans())
    nodes: list[dict[str, Any]] = []
    for index, node_id in enumerate(node_ids):
        templates = [
            "{{ input }}",
            "{{ execution.id }}",
            *(f"{{{{ inputs.{k} }}}}" for k in inputs),
        ]
        if not dag:  # earlier nodes have run by now in a sequence
            templates += [
                f"{{{{ nodes.{n}.output }}}}" for n in node_ids[:index] if n.isidentifier()
            ]
        node_type = draw(st.sampled_from(SAFE_TYPES))
        node: dict[str, Any] = {"id": node_id, "type": node_type}
        node["params"] = draw(_params(node_type, templates))
        if draw(st.booleans()):
            node["on_error"] = draw(st.sampled_from(["fail", "continue"]))
            node["when"] = draw(
                st.sampled_from(["all_success", "none_failed", "any_success", "all_done"])
            )
            node["retry"] = {"max_attempts": draw(st.integers(1, 2)), "delay": 0}
        nodes.append(node)
    doc: dict[str, Any] = {"id": draw(ids), "nodes": nodes, "inputs": inputs}
    if dag:
        edges = []
        for target in range(1, count):
            for source in draw(st.sets(st.integers(0, target - 1), max_size=2)):
                edge = {"source": node_ids[source], "target": node_ids[target]}
                port = draw(st.sampled_from(_ports(nodes[source])))
                if port is not None:
                    edge["source_port"] = port
                edges.append(edge)
        doc["edges"] = edges
    if draw(st.booleans()):
        doc["outputs"] = {"out": node_ids[-1]}
    return doc


def _paths(doc: Any) -> list[Path]:
    """Places in ``doc`` (the root excluded) to corrupt: not below depth 8, nor past
    the 20th item of a container, so an earlier huge corruption stays cheap."""
    found: list[Path] = []
    stack: list[tuple[Any, Path]] = [(doc, ())]
    while stack:
        value, here = stack.pop()
        items: list[tuple[str | int, Any]] = []
        if isinstance(value, dict):
            items = list(value.items())[:20]
        elif isinstance(value, list):
            items = list(enumerate(value))[:20]
        for key, item in items:
            found.append((*here, key))
            if len(here) < 8:
                stack.append((item, (*here, key)))
    return sorted(found, key=repr)


def _parent(doc: Any, path: Path) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@st.composite
def _mutate(draw: st.DrawFn, doc: dict[str, Any]) -> tuple[str, Any]:
    """One corruption of ``doc`` (changed in place), and its label."""
    paths = _paths(doc)
    path = draw(st.sampled_from(paths)) if paths else ("id",)
    kind = draw(
        st.sampled_from(
            [
                "wrong_type",
                "missing",
                "extra",
                "cycle",
                "dangling",
                "duplicate",
                "huge_string",
                "deep",
                "unicode",
                "bad_template",
                "top_level",
                "many_nodes",
            ]
        )
    )
    try:
        return _apply(draw, doc, path, kind, bool(paths))
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError):  # an earlier
        return "noop", doc  # corruption took (or buried) what this one needs


def _apply(
    draw: st.DrawFn, doc: dict[str, Any], path: Path, kind: str, any_path: bool
) -> tuple[str, Any]:
    nodes: list[Any] = doc["nodes"]
    paths = any_path
    match kind:
        case "wrong_type" if paths:
            _parent(doc, path)[path[-1]] = draw(any_values)
        case "missing" if paths:
            parent = _parent(doc, path)
            del parent[path[-1]]
        case "extra" if paths:
            target = _parent(doc, path)
            if isinstance(target, dict):
                target[draw(st.text(max_size=10))] = draw(any_values)
            else:
                target.append(draw(any_values))
        case "cycle":
            first, last = nodes[0]["id"], nodes[-1]["id"]
            doc.setdefault("edges", [])
            if isinstance(doc["edges"], list):
                doc["edges"].append({"source": last, "target": first})
                if len(nodes) > 1:
                    doc["edges"].append({"source": first, "target": last})
        case "dangling":
            edge = {"source": nodes[0]["id"], "target": draw(ids)}
            if draw(st.booleans()):
                edge = {"source": draw(ids), "target": nodes[-1]["id"], "source_port": draw(ids)}
            edges = doc.setdefault("edges", [])
            if isinstance(edges, list):
                edges.append(edge)
        case "duplicate":
            nodes.append(copy.deepcopy(nodes[draw(st.integers(0, len(nodes) - 1))]))
        case "huge_string":
            size = draw(st.sampled_from([10_000, 100_000, 1_000_000]))
            _parent(doc, path)[path[-1]] = draw(st.sampled_from("x{é")) * size
        case "deep":
            depth = draw(st.sampled_from([100, 1_000, 5_000, 20_000]))
            leaf = draw(st.sampled_from(["{{ input }}", 1, None]))
            _parent(doc, path)[path[-1]] = _nested(depth, leaf)
        case "unicode":
            _parent(doc, path)[path[-1]] = draw(st.sampled_from(_WEIRD_TEXT))
        case "bad_template":
            where = draw(st.sampled_from(["params", "outputs", "path"]))
            text = draw(st.sampled_from(_BAD_TEMPLATES))
            if where == "params":
                nodes[0]["params"] = (
                    {"value": text} if nodes[0]["type"] == "set" else {"message": text}
                )
                nodes[0]["type"] = "set" if nodes[0]["type"] == "set" else "log"
            elif where == "outputs":
                doc["outputs"] = {"out": text}
            else:
                _parent(doc, path)[path[-1]] = text
        case "top_level":
            return kind, draw(any_values | st.just([doc]))
        case "many_nodes":
            count = draw(st.sampled_from([500, 3_000]))
            doc["nodes"] = [
                {"id": f"n{i}", "type": "set", "params": {"value": i}} for i in range(count)
            ]
            doc.pop("edges", None)
            doc.pop("outputs", None)
        case _:
            kind = "noop"
    return kind, doc


@st.composite
def blueprint_cases(draw: st.DrawFn) -> BlueprintCase:
    """A valid blueprint (a quarter of the time) or one with 1-3 corruptions."""
    doc = draw(valid_blueprints())
    if draw(st.integers(0, 3)) == 3:  # not 0: Hypothesis starts from small values
        return BlueprintCase("valid", doc, valid=True)
    labels = []
    result: Any = doc
    for _ in range(draw(st.integers(1, 3))):
        kind, result = draw(_mutate(doc))
        labels.append(kind)
        if kind == "top_level":
            break
    return BlueprintCase("+".join(labels), result, valid=False)


def generate(n: int, seed: int, strategy: st.SearchStrategy[Any] | None = None) -> list[Any]:
    """``n`` examples of ``strategy`` (default: :func:`blueprint_cases`), the same for the
    same seed. Drawn up front so the async runner needs no Hypothesis engine of its own."""
    drawn: list[Any] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy if strategy is not None else blueprint_cases())
    def collect(case: Any) -> None:
        drawn.append(case)

    collect()
    return drawn[:n]


def safe_to_execute(doc: Any) -> bool:
    """Whether a (possibly corrupted) document names only safe node types, if any."""
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list):
        return True
    for node in nodes:
        kind = node.get("type") if isinstance(node, dict) else None
        if isinstance(kind, str) and kind not in SAFE_TYPES and "." in kind:
            return kind.startswith("no.such")  # an unknown type is refused before running
    return True


def clamp_delays(doc: Any) -> Any:
    """A copy whose delay nodes wait at most :data:`MAX_DELAY` seconds (a corrupted
    ``seconds`` of 1e300 would otherwise hold the run), or ``doc`` itself."""
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list):
        return doc
    clamp: Callable[[Any], bool] = lambda n: (  # noqa: E731
        isinstance(n, dict)
        and n.get("type") == "delay"
        and isinstance(n.get("params"), dict)
        and isinstance(n["params"].get("seconds"), int | float)
        and n["params"]["seconds"] > MAX_DELAY
    )
    if not any(clamp(n) for n in nodes):
        return doc
    doc = dict(doc)
    doc["nodes"] = [
        {**n, "params": {**n["params"], "seconds": MAX_DELAY}} if clamp(n) else n for n in nodes
    ]
    return doc
