"""Which nodes a "run from here" runs, and which it reuses.

Shared by the engine (which runs exactly these) and the editor (which highlights
them before the run), so "what will run when I press Run?" has one answer.

"Run up to here" (``stop_after``) runs a node's :func:`ancestors` and the node;
"run this node" (``only``) runs it alone, fed by its upstream's outputs.

A node runs again when it is ``start_at`` or downstream of it, when its
definition changed since the reused execution (it is *dirty*), when that
execution has no completion recorded for it, or when anything upstream of it runs
again. Every other node is reused: its recorded output feeds its downstream.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping

from app.blueprint import Blueprint, NodeSpec


def _spec_json(spec: NodeSpec) -> str:
    return spec.model_dump_json(exclude_none=True)


def dirty_nodes(current: Blueprint, previous: Blueprint) -> set[str]:
    """Nodes whose definition differs from ``previous`` (new nodes included)."""
    old = {spec.id: _spec_json(spec) for spec in previous.nodes}
    return {spec.id for spec in current.nodes if old.get(spec.id) != _spec_json(spec)}


def downstream_map(blueprint: Blueprint) -> dict[str, list[str]]:
    ids = [spec.id for spec in blueprint.nodes]
    down: dict[str, list[str]] = {node_id: [] for node_id in ids}
    if blueprint.edges is None:
        for before, after in itertools.pairwise(ids):
            down[before].append(after)
    else:
        for edge in blueprint.edges:
            if edge.source in down and edge.target in down:
                down[edge.source].append(edge.target)
    return down


def nodes_to_run(
    current: Blueprint,
    previous: Blueprint,
    completed: Mapping[str, object],
    start_at: str | None,
) -> set[str]:
    """The node ids a run from ``start_at`` runs; the rest are reused from ``completed``."""
    down = downstream_map(current)
    seeds = dirty_nodes(current, previous)
    seeds |= {spec.id for spec in current.nodes if spec.id not in completed}
    if start_at is not None:
        seeds.add(start_at)
    run: set[str] = set()
    queue = deque(seeds)
    while queue:
        node_id = queue.popleft()
        if node_id in run:
            continue
        run.add(node_id)
        queue.extend(down.get(node_id, ()))
    return run


def upstream_map(blueprint: Blueprint) -> dict[str, list[tuple[str, str | None]]]:
    """``{node_id: [(upstream_id, source_port), ...]}`` (a sequence: the previous node)."""
    ids = [spec.id for spec in blueprint.nodes]
    up: dict[str, list[tuple[str, str | None]]] = {node_id: [] for node_id in ids}
    if blueprint.edges is None:
        for before, after in itertools.pairwise(ids):
            up[after].append((before, None))
    else:
        for edge in blueprint.edges:
            if edge.source in up and edge.target in up:
                up[edge.target].append((edge.source, edge.source_port))
    return up


def ancestors(blueprint: Blueprint, node_id: str) -> set[str]:
    """Every node ``node_id`` depends on, directly or not (not itself)."""
    up = upstream_map(blueprint)
    found: set[str] = set()
    queue = deque(source for source, _port in up.get(node_id, ()))
    while queue:
        current = queue.popleft()
        if current not in found:
            found.add(current)
            queue.extend(source for source, _port in up.get(current, ()))
    return found
