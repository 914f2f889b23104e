"""Automatic placement of nodes that have no stored position (pure Python, no Qt).

Layered left to right by **longest path**: a node's column is one more than the
furthest column of its upstreams, so every edge points rightwards and a chain reads
like a sentence. Within a column, nodes are ordered by the mean row of their
upstreams (one barycentre pass, enough to untangle fan-outs), ties kept in list
order, and each column is centred on the same horizontal line.

Assumptions: the graph is small (a few hundred nodes) and may be invalid. Nodes on
a cycle, which have no longest path, are put one column after everything else
instead of being refused: layout must never fail on a blueprint validation will
reject anyway.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Sequence

Point = tuple[float, float]

#: Horizontal distance between columns and vertical distance between rows.
COLUMN_WIDTH = 260.0
ROW_HEIGHT = 140.0


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
    row_height: float = ROW_HEIGHT,
    origin: Point = (0.0, 0.0),
) -> dict[str, Point]:
    """Positions for ``node_ids`` (top-left corners), layered left to right."""
    edge_list = list(edges)
    column = layers(node_ids, edge_list)
    upstream: dict[str, list[str]] = {n: [] for n in node_ids}
    for source, target in edge_list:
        if source in upstream and target in upstream:
            upstream[target].append(source)
    order = {node: i for i, node in enumerate(node_ids)}
    row: dict[str, float] = {}
    positions: dict[str, Point] = {}
    for depth in range(max(column.values(), default=-1) + 1):
        members = [n for n in node_ids if column[n] == depth]

        def barycentre(node: str) -> tuple[float, int]:
            placed = [row[u] for u in upstream[node] if u in row]
            return (sum(placed) / len(placed) if placed else float(order[node]), order[node])

        members.sort(key=barycentre)
        for i, node in enumerate(members):
            row[node] = i - (len(members) - 1) / 2.0
            positions[node] = (
                origin[0] + depth * column_width,
                origin[1] + row[node] * row_height,
            )
    return positions


def sequence_edges(node_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The implicit chain of a blueprint without ``edges``: each node feeds the next."""
    return list(itertools.pairwise(node_ids))
