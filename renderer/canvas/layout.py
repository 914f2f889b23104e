"""Automatic placement of nodes that have no stored position (pure Python, no Qt).

Layered left to right by **longest path**: a node's column is one more than the
furthest column of its upstreams, so every edge points rightwards and a chain reads
like a sentence. Within a column, nodes are ordered by the mean row of their
upstreams' centres (one barycentre pass, enough to untangle fan-outs), ties kept in list
order, and each column is centred on the same horizontal line.

Assumptions: the graph is small (a few hundred nodes) and may be invalid. Nodes on
a cycle, which have no longest path, are put one column after everything else
instead of being refused: layout must never fail on a blueprint validation will
reject anyway.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from renderer.canvas.geometry import node_height

Point = tuple[float, float]

#: Horizontal distance between columns' left edges.
COLUMN_WIDTH = 270.0
#: Vertical gap between nodes of one column.
ROW_GAP = 40.0


def layers(node_ids: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """The column of each node: 0 for sources, else 1 + the deepest upstream's column."""
    known = set(node_ids)
    upstream: dict[str, list[str]] = {n: [] for n in node_ids}
    downstream: dict[str, list[str]] = {n: [] for n in node_ids}
    for source, target in edges:
        if source in known and target in known and source != target:
            upstream[target].append(source)
            downstream[source].append(target)
    waiting = {n: len(upstream[n]) for n in node_ids}
    ready = deque(n for n in node_ids if waiting[n] == 0)
    column: dict[str, int] = {}
    while ready:
        node = ready.popleft()
        column[node] = max((column[u] + 1 for u in upstream[node]), default=0)
        for target in downstream[node]:
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    after = max(column.values(), default=-1) + 1
    for node in node_ids:
        column.setdefault(node, after)
    return column


def auto_layout(
    node_ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    *,
    column_width: float = COLUMN_WIDTH,
    row_gap: float = ROW_GAP,
    heights: Mapping[str, float] | None = None,
    origin: Point = (0.0, 0.0),
) -> dict[str, Point]:
    """Positions for ``node_ids`` (top-left corners), layered left to right.

    ``heights`` gives each node's height (default: a card with one output), so
    tall branch nodes do not overlap their neighbours; each column is centred on
    the line ``y = origin.y + height of a plain card / 2``.
    """
    plain = node_height(0)
    size = {n: (heights or {}).get(n, plain) for n in node_ids}
    edge_list = list(edges)
    column = layers(node_ids, edge_list)
    upstream: dict[str, list[str]] = {n: [] for n in node_ids}
    for source, target in edge_list:
        if source in upstream and target in upstream:
            upstream[target].append(source)
    order = {node: i for i, node in enumerate(node_ids)}
    centre: dict[str, float] = {}
    positions: dict[str, Point] = {}
    by_depth: dict[int, list[str]] = {}
    for node in node_ids:  # one pass (a scan per column was quadratic on a long chain)
        by_depth.setdefault(column[node], []).append(node)
    for depth in range(max(column.values(), default=-1) + 1):
        members = by_depth.get(depth, [])

        def barycentre(node: str) -> tuple[int, float, int]:
            placed = [centre[u] for u in upstream[node] if u in centre]
            if not placed:
                return (1, 0.0, order[node])
            return (0, sum(placed) / len(placed), order[node])

        members.sort(key=barycentre)
        total = sum(size[n] for n in members) + row_gap * (len(members) - 1)
        y = origin[1] + plain / 2 - total / 2
        for node in members:
            centre[node] = y + size[node] / 2
            positions[node] = (origin[0] + depth * column_width, y)
            y += size[node] + row_gap
    return positions


def sequence_edges(node_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The implicit chain of a blueprint without ``edges``: each node feeds the next."""
    return list(itertools.pairwise(node_ids))
