"""Which nodes a ``catch`` node watches, and what is wrong with a catch.

Shared by validation (:mod:`app.validation`, typed problems naming the field) and
the plan compiler (:mod:`main_process.engine.plan`, which turns a scope into the
catch node's waits), so the two never disagree on a scope.

A catch's scope is its ``params.nodes`` when given, else every node upstream of
it (transitively, through edges). A catch needs ``edges`` (in a list-order
blueprint every node would be "upstream" and skipping would end the chain), may
not list itself, unknown nodes, or nodes downstream of it (it would wait on a
node that waits on it: a cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.blueprint import Blueprint
from app.errors import Problem

CATCH_TYPE = "catch"


def is_catch(node_type: str, function: Any) -> bool:
    """Whether a node is a catch node (a code-defined node never is)."""
    return function is None and node_type == CATCH_TYPE


def _adjacency(
    blueprint: Blueprint, first: Mapping[str, int]
) -> tuple[list[set[int]], list[set[int]]]:
    n = len(blueprint.nodes)
    up: list[set[int]] = [set() for _ in range(n)]
    down: list[set[int]] = [set() for _ in range(n)]
    for edge in blueprint.edges or ():
        source, target = first.get(edge.source), first.get(edge.target)
        if source is not None and target is not None and source != target:
            up[target].add(source)
            down[source].add(target)
    return up, down


def _reach(start: int, links: list[set[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(links[start])
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(links[current])
    return seen


def catch_scopes(blueprint: Blueprint) -> dict[int, frozenset[int]]:
    """Each catch node's index → the indices of the nodes in its scope (unknown ids
    and the catch itself left out; validation reports them)."""
    first: dict[str, int] = {}
    for index, node in enumerate(blueprint.nodes):
        first.setdefault(node.id, index)
    catches = [i for i, n in enumerate(blueprint.nodes) if is_catch(n.type, n.function)]
    if not catches:
        return {}
    up, _down = _adjacency(blueprint, first)
    scopes: dict[int, frozenset[int]] = {}
    for index in catches:
        listed = blueprint.nodes[index].params.get("nodes")
        if isinstance(listed, list):
            chosen = {first[n] for n in listed if isinstance(n, str) and n in first}
        else:
            chosen = _reach(index, up)
        scopes[index] = frozenset(chosen - {index})
    return scopes


def catch_problems(blueprint: Blueprint) -> list[Problem]:
    """Typed problems of every catch node, naming the field."""
    catches = [i for i, n in enumerate(blueprint.nodes) if is_catch(n.type, n.function)]
    if not catches:
        return []
    first: dict[str, int] = {}
    for index, node in enumerate(blueprint.nodes):
        first.setdefault(node.id, index)
    problems: list[Problem] = []
    if blueprint.edges is None:
        for index in catches:
            message = (
                f"node {blueprint.nodes[index].id!r}: a catch node needs a blueprint "
                "with edges (its scope is the nodes upstream of it)"
            )
            problems.append(Problem(where=f"nodes[{index}].type", message=message, code="catch"))
        return problems
    _up, down = _adjacency(blueprint, first)
    scopes = catch_scopes(blueprint)
    for index in catches:
        node = blueprint.nodes[index]
        where = f"nodes[{index}].params.nodes"
        listed = node.params.get("nodes")
        if isinstance(listed, list):
            below = _reach(index, down)
            for k, name in enumerate(listed):
                place = f"{where}[{k}]"
                if name == node.id:
                    message = f"catch {node.id!r} lists itself"
                    problems.append(Problem(where=place, message=message, code="catch"))
                elif name not in first:
                    message = f"catch {node.id!r} lists unknown node {name!r}"
                    problems.append(Problem(where=place, message=message, code="catch"))
                elif first[name] in below:
                    message = f"catch {node.id!r} lists {name!r}, which is downstream of it"
                    problems.append(Problem(where=place, message=message, code="catch"))
        if not scopes.get(index):
            message = f"catch {node.id!r} has nothing in its scope (no upstream node, none listed)"
            problems.append(Problem(where=where, message=message, code="catch"))
    return problems
