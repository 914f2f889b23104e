"""What a node does with streams of items, and where a stream may not flow.

Declared, not guessed: a node type states its :class:`StreamRole` (type metadata,
``stream_role(params)`` on the catalog entry; ``python.function`` takes ``stream: true``
or ``per_item: true`` in its params), and a code-defined node is a producer when its
function is a generator function, per item when built with
``create_simple_node(..., per_item=True)``. Validation (:func:`stream_problems`) and the
plan compiler (:mod:`main_process.engine.plan`) read roles through :func:`node_role`,
so the two never disagree.

Semantics: a ``produces`` node's output is a stream; a ``per_item`` node fed a stream
outputs a stream too (one result per item), and fed a whole value works as before; a
``collects`` node reads a stream to its end into one value; a ``whole`` node needs a
whole value, so a stream flowing into it (directly, or through per-item nodes) is a
problem naming both nodes: put a ``collect`` between them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from app.blueprint import Blueprint, NodeSpec
from app.catalog import NodeCatalog
from app.errors import Problem


class StreamRole(StrEnum):
    """A node's part in a stream of items."""

    #: Needs a whole value (the default): a stream into it is a validation problem.
    WHOLE = "whole"
    #: Its output is a stream of items (a generator, a ``generate`` node).
    PRODUCES = "produces"
    #: Works item by item: a stream in gives a stream out.
    PER_ITEM = "per_item"
    #: Reads a stream to its end into one value (``collect``, ``sum``, ``sqlite.write``).
    COLLECTS = "collects"


def function_role(spec: NodeSpec) -> StreamRole:
    """The role of a code-defined node (``create_simple_node``)."""
    fn = spec.function
    if fn is not None and (inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)):
        return StreamRole.PRODUCES
    return StreamRole.PER_ITEM if spec._per_item else StreamRole.WHOLE


def node_role(spec: NodeSpec, entry: Any) -> StreamRole:
    """A node's declared role; ``entry`` is its catalog entry (None: unknown type)."""
    if spec.function is not None:
        return function_role(spec)
    role_of = getattr(entry, "stream_role", None)
    if role_of is None:
        return StreamRole.WHOLE
    role: StreamRole = role_of(spec.params)
    return role


def streaming_nodes(blueprint: Blueprint, roles: list[StreamRole]) -> list[bool]:
    """Which nodes output a stream: producers, and per-item nodes fed one (plan order
    is enough for a sequential blueprint; with edges, upstream first)."""
    upstream: list[list[int]] = [[] for _ in blueprint.nodes]
    for source, target, _where in _flows(blueprint):
        upstream[target].append(source)
    streaming: list[bool | None] = [None] * len(roles)

    def visit(i: int, depth: int = 0) -> bool:
        known = streaming[i]
        if known is not None:
            return known
        if depth > len(roles):  # a cycle: reported elsewhere
            return False
        streaming[i] = False
        role = roles[i]
        result = role is StreamRole.PRODUCES or (
            role is StreamRole.PER_ITEM and any(visit(u, depth + 1) for u in upstream[i])
        )
        streaming[i] = result
        return result

    return [visit(i) for i in range(len(roles))]


def _crosses(spec: NodeSpec, role: StreamRole, runner: str | None, streaming: bool) -> bool:
    """Whether a node's stream would have to cross to a runner that cannot take one.

    A per-item node fed a whole list runs there as before (the list is one value); fed
    a stream, only a ``python.function`` on ``runner: dask`` takes it (each chunk is
    mapped on the cluster, :mod:`main_process.streams.remote`). Producers never cross.
    """
    if role is StreamRole.WHOLE or runner not in ("process", "dask"):
        return False
    if role is StreamRole.PER_ITEM:
        if not streaming:
            return False
        return not (runner == "dask" and spec.function is None and spec.type == "python.function")
    return True


def _flows(blueprint: Blueprint) -> Iterator[tuple[int, int, str]]:
    """(source, target, where) for every edge, or the list order's implicit ones."""
    index = {node.id: i for i, node in enumerate(blueprint.nodes)}
    if blueprint.edges:
        for k, edge in enumerate(blueprint.edges):
            if edge.source in index and edge.target in index:
                yield index[edge.source], index[edge.target], f"edges[{k}]"
    else:
        for i in range(1, len(blueprint.nodes)):
            yield i - 1, i, f"nodes[{i}]"


def stream_problems(blueprint: Blueprint, catalog: NodeCatalog) -> list[Problem]:
    """A stream flowing into a node that needs a whole value, naming both nodes."""
    nodes = blueprint.nodes
    roles = [node_role(spec, catalog.lookup(spec.type)) for spec in nodes]
    if all(role is StreamRole.WHOLE for role in roles):
        return []
    streaming = streaming_nodes(blueprint, roles)
    problems: list[Problem] = []
    for index, (spec, role) in enumerate(zip(nodes, roles, strict=True)):
        runner = spec.runner.value if spec.runner is not None else None
        if _crosses(spec, role, runner, streaming[index]):
            problems.append(
                Problem(
                    where=f"nodes[{index}].runner",
                    message=(
                        f"node {spec.id!r} works on a stream of items, which does not cross "
                        f"to runner {runner}: use thread or inline (runner dask takes a "
                        "stream only into a python.function with per_item: true)"
                    ),
                    code="stream",
                )
            )
    problems.extend(_waits_on_itself(blueprint, streaming))
    for source, target, where in _flows(blueprint):
        if streaming[source] and roles[target] is StreamRole.WHOLE:
            problems.append(
                Problem(
                    where=where,
                    message=(
                        f"node {nodes[source].id!r} outputs a stream of items, but node "
                        f"{nodes[target].id!r} ({nodes[target].type}) needs a whole value: "
                        "put a collect (or sum, count, reduce) node between them"
                    ),
                    code="stream",
                )
            )
    return problems


def flagged_role(params: dict[str, Any]) -> StreamRole:
    """The role a node type with ``stream`` / ``per_item`` flags in its params declares
    (``python.function``, ``json.transform``, ``set``): literal ``true`` only."""
    if params.get("stream") is True:
        return StreamRole.PRODUCES
    if params.get("per_item") is True:
        return StreamRole.PER_ITEM
    return StreamRole.WHOLE


def _waits_on_itself(blueprint: Blueprint, streaming: list[bool]) -> list[Problem]:
    """A stream read directly by a node that also waits for a node collecting that
    same stream (A→C collect→D, A→D): D starts only once C has read all of A, and A
    waits for D to read once its buffer is full — a deadlock, refused up front."""
    nodes = blueprint.nodes
    flows = list(_flows(blueprint))
    after: list[list[int]] = [[] for _ in nodes]
    for source, target, _where in flows:
        after[source].append(target)

    def below(start: int) -> set[int]:
        seen: set[int] = set()
        stack = list(after[start])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(after[current])
        return seen

    problems: list[Problem] = []
    for source, target, where in flows:
        if not streaming[source]:
            continue
        collectors = [n for n in below(source) if not streaming[n] and n != target]
        if any(target in below(n) for n in collectors):
            problems.append(
                Problem(
                    where=where,
                    message=(
                        f"node {nodes[target].id!r} reads the stream of "
                        f"{nodes[source].id!r} and also waits for a node that collects it "
                        "first: it could never start; collect the stream before "
                        f"{nodes[target].id!r} instead"
                    ),
                    code="stream",
                )
            )
    return problems
