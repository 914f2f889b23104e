"""Validation of ``blueprint.call`` and ``loop`` nodes against the library.

What is visible statically — a literal ``blueprint_id`` or ``body`` — is checked
before anything runs: an unknown id, a cycle of calls through the library (A calls B
calls A, or A calls itself), nesting deeper than the ``subflow_depth`` limit, and a
loop body that itself calls blueprints or loops (its iterations are not recorded
executions a child could link to). Each problem names the node and field of the
blueprint being checked that starts the path. A templated id is checked at run time
instead (:mod:`main_process.engine.subflows`).
"""

from __future__ import annotations

from app.blueprint import Blueprint
from app.blueprint_ids import REFERENCING_PARAMS, id_problem
from app.errors import ConductorError, Problem
from app.limits import limit
from app.templates import is_template
from main_process.library import BlueprintLibrary

_CALLS = frozenset(REFERENCING_PARAMS)


def _literal_refs(blueprint: Blueprint) -> list[tuple[int, str, str]]:
    """(node index, param, id) of every literal reference to another blueprint."""
    found = []
    for index, node in enumerate(blueprint.nodes):
        for param in REFERENCING_PARAMS.get(node.type, ()):
            value = node.params.get(param)
            if isinstance(value, str) and value and not is_template(value):
                found.append((index, param, value))
    return found


class _Walk:
    """Depth-first walk of the call graph, loading each library blueprint once."""

    def __init__(self, root: Blueprint, library: BlueprintLibrary) -> None:
        self.root = root
        self.library = library
        self.loaded: dict[str, Blueprint | None] = {root.id: root}

    def get(self, blueprint_id: str) -> Blueprint | None:
        if blueprint_id not in self.loaded:
            try:
                self.loaded[blueprint_id] = self.library.load(blueprint_id)
            except ConductorError:
                self.loaded[blueprint_id] = None
        return self.loaded[blueprint_id]

    def cycle_or_depth(self, start: str, max_depth: int) -> str | None:
        """Why calling ``start`` from the root is refused: a path back to the root
        (or any cycle), or one deeper than ``max_depth``; None when fine."""
        stack: list[tuple[str, list[str]]] = [(start, [self.root.id, start])]
        seen: set[tuple[str, int]] = set()
        while stack:
            current, path = stack.pop()
            if len(path) - 1 > max_depth:
                return f"sub-blueprints nest deeper than the limit of {max_depth}: " + " → ".join(
                    path
                )
            blueprint = self.get(current)
            if blueprint is None:
                continue
            for _, _, target in _literal_refs(blueprint):
                if target in path:
                    return "recursion: " + " → ".join([*path, target])
                if (target, len(path)) not in seen:
                    seen.add((target, len(path)))
                    stack.append((target, [*path, target]))
        return None


def subflow_problems(blueprint: Blueprint, library: BlueprintLibrary) -> list[Problem]:
    """The problems of the blueprint's ``blueprint.call`` and ``loop`` nodes."""
    if not any(node.type in _CALLS for node in blueprint.nodes):
        return []
    problems: list[Problem] = []
    walk = _Walk(blueprint, library)
    max_depth = limit("subflow_depth")
    for index, param, target in _literal_refs(blueprint):
        where = f"nodes[{index}].params.{param}"
        node_id = blueprint.nodes[index].id
        bad_id = id_problem(target)
        if bad_id is not None:
            problems.append(Problem(where=where, message=f"node {node_id!r}: {bad_id}"))
            continue
        if target == blueprint.id:
            problems.append(
                Problem(
                    where=where,
                    message=f"node {node_id!r} calls its own blueprint {target!r} (recursion)",
                    code="recursion",
                )
            )
            continue
        called = walk.get(target)
        if called is None:
            problems.append(
                Problem(
                    where=where,
                    message=f"node {node_id!r}: no blueprint {target!r} in the library",
                    code="unknown",
                )
            )
            continue
        if param == "body" and any(node.type in _CALLS for node in called.nodes):
            problems.append(
                Problem(
                    where=where,
                    message=f"node {node_id!r}: loop body {target!r} calls blueprints or"
                    " loops itself, which a loop body may not do",
                    code="unsupported",
                )
            )
            continue
        why = walk.cycle_or_depth(target, max_depth)
        if why is not None:
            problems.append(
                Problem(where=where, message=f"node {node_id!r}: {why}", code="recursion")
            )
    return problems
