"""What a blueprint means, checked before it runs: every problem at once, each with its place.

Shape (types, unknown fields) is pydantic's job in :mod:`app.blueprint_files`; here
we check what only the whole document or the node catalog can tell: duplicate ids,
unknown node types, params against each type's model, edges to unknown nodes or
ports, duplicate edges, cycles, and templates (syntax, names, node ids, inputs).

Assumptions and choices:

* A param error located at a templated value (``"timeout": "{{ inputs.t }}"`` where
  a number is expected) is not a problem: the value is only known at run time, and
  the engine validates the rendered params again.
* Code-defined nodes (``node.function`` set) need no catalog entry; their params
  are not checked against a model and they have no named output ports.
* A params model may refuse a template in a field outright (a value that must be
  known before the run, such as SQL text) by raising a ``PydanticCustomError`` of
  type :data:`TEMPLATE_FORBIDDEN`; such an error is never excused as "known only at
  run time", since after rendering the template would no longer be visible.
* ``disabled_types`` lets a caller refuse node types the catalog knows but this
  engine will not run (``conductor serve --no-code-nodes``): each use is a problem
  at ``nodes[i].type``.
* The run is linear in nodes + edges (a 10,000-node blueprint is fine): ids and
  edges go through dicts, cycles are found with an iterative Tarjan pass, and each
  cycle is reported once per strongly connected component, with one concrete loop.
* Template analysis is cached by source in :mod:`app.templates`, so validating the
  same blueprint again costs little.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.blueprint import Blueprint, as_blueprint
from app.blueprint_files import parse_blueprint_data, problems_from_errors
from app.catalog import CatalogEntry, NodeCatalog
from app.errors import BlueprintError, Problem, TemplateError
from app.flow_problems import flow_problems
from app.template_refs import template_references
from app.templates import KNOWN_NAMES, is_template, join_path
from app.webhook_validation import webhook_problems

__all__ = ["TEMPLATE_FORBIDDEN", "check_blueprint", "validate_blueprint"]

#: Error type a params model raises for a field that must not hold a template.
TEMPLATE_FORBIDDEN = "template_forbidden"

#: Suggesting close node ids compares against every id; past this many, skip it.
_MAX_SUGGEST_POOL = 1000
#: A reported cycle longer than this shows its start and end only.
_MAX_CYCLE_SHOWN = 12


def _suggest(name: str, pool: Any) -> str:
    """`` (did you mean 'x'?)`` when something close exists, else an empty string."""
    names = list(pool)
    if len(names) > _MAX_SUGGEST_POOL:
        return ""
    close = difflib.get_close_matches(name, names, n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _has_template(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if is_template(item):
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _templated_strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every ``(place, text)`` inside ``value`` whose text is a template, in document order."""
    stack = [(value, where)]
    while stack:
        item, place = stack.pop()
        if isinstance(item, str):
            if is_template(item):
                yield place, item
        elif isinstance(item, Mapping):
            stack.extend((v, join_path(place, str(k))) for k, v in reversed(list(item.items())))
        elif isinstance(item, list | tuple):
            stack.extend((v, join_path(place, i)) for i, v in reversed(list(enumerate(item))))


def _at_template(params: Any, err: ErrorDetails) -> bool:
    """Whether a params error sits at (or above) a templated value, known only at run time."""
    if err["type"] in ("extra_forbidden", "missing", TEMPLATE_FORBIDDEN):
        return False
    current = params
    for key in err["loc"]:
        if isinstance(current, str):
            break
        if isinstance(current, Mapping):
            current = current.get(key, current)
        elif isinstance(current, list | tuple) and isinstance(key, int) and key < len(current):
            current = current[key]
    return _has_template(current)


def _ports_follow_templates(entry: CatalogEntry, params: dict[str, Any]) -> bool:
    """Whether the ports change when templated params take another value (a probe)."""
    probe = {k: ["\x00probe"] if _has_template(v) else v for k, v in params.items()}
    return entry.output_ports(probe) != entry.output_ports(params)


def _cycle_text(ids: list[str]) -> str:
    shown = ids if len(ids) <= _MAX_CYCLE_SHOWN else [*ids[:5], "…", *ids[-5:]]
    more = f" ({len(ids)} nodes)" if len(ids) > _MAX_CYCLE_SHOWN else ""
    return "cycle " + " → ".join([*shown, ids[0]]) + more


class _Validator:
    """One validation run; collects problems instead of stopping at the first."""

    def __init__(
        self, blueprint: Blueprint, catalog: NodeCatalog, disabled_types: Mapping[str, str]
    ) -> None:
        self.bp = blueprint
        self.catalog = catalog
        self.disabled_types = disabled_types
        self.problems: list[Problem] = []
        self.first: dict[str, int] = {}
        self._entries: dict[str, CatalogEntry | None] = {}
        #: Nodes whose params failed their model only where templates stand: ports
        #: computed from such params are a guess.
        self._templated_params: set[int] = set()

    def add(self, where: str, message: str, code: str) -> None:
        self.problems.append(Problem(where=where, message=message, code=code))

    def entry(self, type_name: str) -> CatalogEntry | None:
        if type_name not in self._entries:
            self._entries[type_name] = self.catalog.lookup(type_name)
        return self._entries[type_name]

    def run(self) -> list[Problem]:
        for index, node in enumerate(self.bp.nodes):
            if node.id in self.first:
                other = self.first[node.id]
                self.add(
                    f"nodes[{index}].id",
                    f"duplicate node id {node.id!r} (also nodes[{other}])",
                    "duplicate_id",
                )
            else:
                self.first[node.id] = index
        for index in range(len(self.bp.nodes)):
            self.check_node(index)
        if self.bp.edges is not None:
            self.check_edges()
        self.problems.extend(flow_problems(self.bp, self.catalog))
        self.check_outputs()
        return self.problems

    def check_node(self, index: int) -> None:
        node = self.bp.nodes[index]
        where = f"nodes[{index}]"
        if node.function is None:
            entry = self.entry(node.type)
            if entry is None:
                suggestion = _suggest(node.type, self.catalog.type_names())
                self.add(f"{where}.type", f"unknown node type {node.type!r}{suggestion}", "type")
            else:
                why = self.disabled_types.get(node.type)
                if why is not None:
                    message = f"node {node.id!r}: type {node.type!r} is not allowed here ({why})"
                    self.add(f"{where}.type", message, "disabled_type")
                self.check_params(index, entry)
        for place, text in _templated_strings(node.params, f"{where}.params"):
            self.check_template(text, place)

    def check_params(self, index: int, entry: CatalogEntry) -> None:
        params = self.bp.nodes[index].params
        base = f"nodes[{index}].params"
        model = entry.params_model
        try:
            model.model_validate(params)
        except ValidationError as exc:
            errors = [e for e in exc.errors(include_url=False) if not _at_template(params, e)]
            if len(errors) < exc.error_count():
                self._templated_params.add(index)
            self.problems.extend(problems_from_errors(errors, params, base, model, code="params"))
        except Exception as exc:  # a params model's own validator may raise anything
            self.add(base, f"params could not be checked: {exc}", "params")

    def check_template(self, text: str, where: str) -> None:
        try:
            refs = template_references(text, where)
        except TemplateError as exc:
            self.add(where, exc.message, "template")
            return
        for name in sorted(refs.names - KNOWN_NAMES):
            known = ", ".join(sorted(KNOWN_NAMES))
            self.add(where, f"unknown template name {name!r} (known: {known})", "template_name")
        for head in dict.fromkeys(chain[0] for chain in refs.nodes):
            if head not in self.first:
                suggestion = _suggest(str(head), self.first) if isinstance(head, str) else ""
                self.add(where, f"unknown node {head!r} in template{suggestion}", "template_node")
        if self.bp.inputs:
            for head in dict.fromkeys(chain[0] for chain in refs.inputs):
                if head not in self.bp.inputs:
                    suggestion = _suggest(str(head), self.bp.inputs)
                    self.add(where, f"unknown input {head!r}{suggestion}", "template_input")

    def check_edges(self) -> None:
        nodes = self.bp.nodes
        adjacency: list[list[tuple[int, int]]] = [[] for _ in nodes]
        seen: dict[tuple[str, str, str | None], int] = {}
        for k, edge in enumerate(self.bp.edges or ()):
            source, target = self.first.get(edge.source), self.first.get(edge.target)
            for end, found, name in (
                ("source", source, edge.source),
                ("target", target, edge.target),
            ):
                if found is None:
                    message = f"unknown node {name!r}{_suggest(name, self.first)}"
                    self.add(f"edges[{k}].{end}", message, "edge")
            if source is None or target is None:
                continue
            if source == target:
                self.add(f"edges[{k}]", f"node {edge.source!r} is connected to itself", "edge")
                continue
            key = (edge.source, edge.target, edge.source_port)
            if key in seen:
                message = (
                    f"duplicate edge {edge.source} → {edge.target} (same as edges[{seen[key]}])"
                )
                self.add(f"edges[{k}]", message, "edge")
                continue
            seen[key] = k
            if edge.source_port is not None:
                self.check_port(k, source, edge.source_port)
            adjacency[source].append((target, k))
        self.check_cycles(adjacency)

    def check_port(self, k: int, source: int, port: str) -> None:
        node = self.bp.nodes[source]
        where = f"edges[{k}].source_port"
        if node.function is not None:
            self.add(where, f"node {node.id!r} is defined in code and has no output ports", "port")
            return
        entry = self.entry(node.type)
        if entry is None:
            return  # already reported
        try:
            ports = entry.output_ports(node.params)
            if source in self._templated_params and _ports_follow_templates(entry, node.params):
                return  # the ports depend on params only known at run time
        except Exception:  # odd params: reported by the params check, if at all
            return
        if ports is None:
            message = f"node {node.id!r} ({node.type}) has no named output ports, not {port!r}"
            self.add(where, message, "port")
        elif port not in ports:
            listed = ", ".join(repr(p) for p in ports) or "none"
            message = (
                f"node {node.id!r} ({node.type}) has no output port {port!r} (ports: {listed})"
            )
            self.add(where, message, "port")

    def check_cycles(self, adjacency: list[list[tuple[int, int]]]) -> None:
        """Report one loop per strongly connected component (iterative Tarjan, linear)."""
        count = len(adjacency)
        order, low = [-1] * count, [0] * count
        on_stack = [False] * count
        stack: list[int] = []
        counter = 0
        components: list[list[int]] = []
        for root in range(count):
            if order[root] != -1 or not adjacency[root]:
                continue
            order[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack[root] = True
            work = [(root, 0)]
            while work:
                v, i = work[-1]
                if i < len(adjacency[v]):
                    work[-1] = (v, i + 1)
                    w = adjacency[v][i][0]
                    if order[w] == -1:
                        order[w] = low[w] = counter
                        counter += 1
                        stack.append(w)
                        on_stack[w] = True
                        work.append((w, 0))
                    elif on_stack[w]:
                        low[v] = min(low[v], order[w])
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == order[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack[w] = False
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        components.append(component)
        for component in sorted(components, key=min):
            self.report_cycle(component, adjacency)

    def report_cycle(self, component: list[int], adjacency: list[list[tuple[int, int]]]) -> None:
        """Find the shortest loop through the component's first node (BFS) and report it."""
        members = set(component)
        start = min(component)
        came_from: dict[int, tuple[int, int]] = {}
        queue = deque([start])
        end: tuple[int, int] | None = None
        while queue and end is None:
            v = queue.popleft()
            for w, k in adjacency[v]:
                if w == start:
                    end = (v, k)
                    break
                if w in members and w not in came_from:
                    came_from[w] = (v, k)
                    queue.append(w)
        if end is None:  # cannot happen in a strongly connected component
            return
        path, first_edge = [end[0]], end[1]
        while path[-1] != start:
            previous, first_edge = came_from[path[-1]]
            path.append(previous)
        ids = [self.bp.nodes[i].id for i in reversed(path)]
        self.add(f"edges[{first_edge}]", _cycle_text(ids), "cycle")

    def check_outputs(self) -> None:
        for name, value in (self.bp.outputs or {}).items():
            where = join_path("outputs", str(name))
            if isinstance(value, str) and not is_template(value):
                if value not in self.first:
                    hint = _suggest(value, self.first)
                    self.add(
                        where, f"{value!r} is neither a node id nor a template{hint}", "output"
                    )
                continue
            for place, text in _templated_strings(value, where):
                self.check_template(text, place)


def validate_blueprint(
    blueprint: Blueprint | Mapping[str, Any],
    catalog: NodeCatalog,
    *,
    disabled_types: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every problem in ``blueprint`` (empty when valid); a dict's shape problems come first.

    ``disabled_types`` maps node types this caller refuses to the reason shown.
    """
    if not isinstance(blueprint, Blueprint):
        try:
            blueprint = parse_blueprint_data(blueprint)
        except BlueprintError as exc:
            return list(exc.problems)
    problems = _Validator(blueprint, catalog, disabled_types or {}).run()
    if blueprint.triggers:
        from app.trigger_checks import trigger_problems

        problems.extend(trigger_problems(blueprint))
        problems.extend(webhook_problems(blueprint))
    try:
        blueprint.engine_json()  # text no JSON writer takes (lone surrogates) cannot run
    except BlueprintError as exc:
        problems.extend(exc.problems)
    return problems


def check_blueprint(
    blueprint: Blueprint | Mapping[str, Any],
    catalog: NodeCatalog,
    *,
    disabled_types: Mapping[str, str] | None = None,
) -> Blueprint:
    """The validated model; raises BlueprintError listing every problem when there are any."""
    model = blueprint if isinstance(blueprint, Blueprint) else as_blueprint(dict(blueprint))
    problems = validate_blueprint(model, catalog, disabled_types=disabled_types)
    if problems:
        n = len(problems)
        message = f"blueprint {model.id!r} is invalid: {n} problem{'s' if n != 1 else ''}"
        raise BlueprintError(message, problems=problems)
    return model
