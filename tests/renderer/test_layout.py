"""Auto-layout: a pure function, layered left to right by longest path."""

from __future__ import annotations

import itertools

from renderer.canvas.geometry import node_height
from renderer.canvas.layout import COLUMN_WIDTH, auto_layout, layers, sequence_edges


def test_layers_follow_the_longest_path() -> None:
    ids = ["a", "b", "c", "d", "e"]
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("a", "e")]
    assert layers(ids, edges) == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 1}


def test_every_edge_points_right() -> None:
    ids = ["fetch", "check", "save", "report", "merge"]
    edges = [
        ("fetch", "check"),
        ("check", "save"),
        ("check", "report"),
        ("save", "merge"),
        ("report", "merge"),
        ("fetch", "merge"),
    ]
    placed = auto_layout(ids, edges)
    for source, target in edges:
        assert placed[source][0] < placed[target][0]
    assert placed["fetch"][0] == 0.0
    assert placed["merge"][0] == 3 * COLUMN_WIDTH


def test_nodes_in_a_column_do_not_overlap() -> None:
    ids = ["s", "x", "y", "z"]
    heights = {"x": node_height(3), "y": node_height(0), "z": node_height(2)}
    placed = auto_layout(ids, [("s", "x"), ("s", "y"), ("s", "z")], heights=heights)
    column = sorted((placed[n][1], n) for n in ("x", "y", "z"))
    for (top, node), (next_top, _) in itertools.pairwise(column):
        assert top + heights[node] < next_top


def test_fan_out_keeps_list_order_and_is_centred() -> None:
    placed = auto_layout(["root", "a", "b", "c"], [("root", "a"), ("root", "b"), ("root", "c")])
    ys = [placed[n][1] for n in ("a", "b", "c")]
    assert ys == sorted(ys)
    assert ys[1] == placed["root"][1]  # the middle child is level with its parent


def test_sequences_and_cycles_do_not_break_layout() -> None:
    ids = ["a", "b", "c"]
    chain = auto_layout(ids, sequence_edges(ids))
    assert [chain[n][0] for n in ids] == [0.0, COLUMN_WIDTH, 2 * COLUMN_WIDTH]
    looped = auto_layout(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")])
    assert set(looped) == {"a", "b", "c"}
    assert looped["b"][0] > looped["a"][0]
    assert auto_layout([], []) == {}
