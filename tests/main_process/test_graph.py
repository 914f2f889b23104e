"""The execution graph, without a loop: random DAGs with ports, join rules and
outcomes (hypothesis), plus targeted cases of the join rules and resume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.blueprint import Blueprint, JoinRule
from app.states import NodeStatus
from main_process.engine.graph import EdgeState, ExecutionGraph
from main_process.engine.plan import compile_plan
from main_process.nodes.registry import default_registry

C, F, X, S = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.CANCELLED, NodeStatus.SKIPPED
PORTS = ("true", "false", "a", "b")


@dataclass
class Node:
    index: int
    id: str
    when: JoinRule = JoinRule.ALL_SUCCESS
    continue_on_error: bool = False
    catch_scope: frozenset[int] | None = None
    caught: bool = False
    upstream: list[tuple[int, str | None]] = field(default_factory=list)
    downstream: list[tuple[int, str | None]] = field(default_factory=list)


def dag(n: int, edges: list[tuple[int, int, str | None]], **rules: Any) -> list[Node]:
    nodes = [Node(i, f"n{i}") for i in range(n)]
    for src, dst, port in edges:
        nodes[src].downstream.append((dst, port))
        nodes[dst].upstream.append((src, port))
    for name, value in rules.items():
        nodes[int(name[1:])].when = value
    return nodes


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Node], bool]:
    n = draw(st.integers(1, 12))
    sequential = draw(st.booleans()) and n > 0
    nodes = [Node(i, f"n{i}") for i in range(n)]
    if sequential:
        edges = [(i, i + 1, None) for i in range(n - 1)]
    else:
        edges = []
        for dst in range(1, n):
            for src in draw(st.sets(st.integers(0, dst - 1), max_size=3)):
                edges.append((src, dst, draw(st.sampled_from((None, *PORTS)))))
    for src, dst, port in edges:
        nodes[src].downstream.append((dst, port))
        nodes[dst].upstream.append((src, port))
    for node in nodes:
        node.when = draw(st.sampled_from(list(JoinRule)))
        node.continue_on_error = draw(st.booleans())
    return nodes, sequential


def drive(
    graph: ExecutionGraph, nodes: list[Node], data: st.DataObject, limit: int | None = None
) -> tuple[list[int], list[int], list[int]]:
    """Run the graph to its end with random outcomes; returns (started, marked, skipped)."""
    started: list[int] = []
    marked: list[int] = []
    skipped = list(graph.start())
    running: list[int] = []
    while True:
        batch = graph.ready(limit)
        started.extend(batch)
        running.extend(batch)
        if not running:
            break
        index = running.pop(data.draw(st.integers(0, len(running) - 1)))
        status = data.draw(st.sampled_from((C, C, C, F)))
        port = data.draw(st.sampled_from((None, *PORTS))) if status is C else None
        marked.append(index)
        skipped.extend(graph.mark(index, status, output={"from": index}, port=port))
        if graph.failure is not None:
            for rest in running:
                graph.mark(rest, X)
            running.clear()
    assert graph.done
    return started, marked, skipped


@settings(max_examples=400, deadline=None)
@given(graphs(), st.data())
def test_every_node_ends_in_exactly_one_terminal_state(
    shape: tuple[list[Node], bool], data: st.DataObject
) -> None:
    nodes, sequential = shape
    graph = ExecutionGraph(nodes, sequential=sequential, inputs={"in": 1})
    started, marked, skipped = drive(graph, nodes, data, data.draw(st.sampled_from((None, 1, 3))))
    cancelled = graph.cancel_rest()
    assert len(started) == len(set(started))
    assert len(skipped) == len(set(skipped))
    assert not set(started) & set(skipped)
    assert not set(cancelled) & (set(marked) | set(skipped))
    assert sorted(set(started) | set(skipped) | set(cancelled)) == list(range(len(nodes)))
    assert all(status.is_terminal for status in graph.status)
    assert all(graph.status[i] is S for i in skipped)
    if graph.failure is None:
        assert cancelled == []  # without a fast failure every node is decided


@settings(max_examples=300, deadline=None)
@given(graphs(), st.data())
def test_join_rules_hold_for_every_decided_node(
    shape: tuple[list[Node], bool], data: st.DataObject
) -> None:
    """A node ran exactly when its rule says so over its upstreams' final edges;
    skipping propagates (an ``all_success`` node below a skipped edge is skipped);
    ``all_done`` always runs."""
    nodes, sequential = shape
    graph = ExecutionGraph(nodes, sequential=sequential)
    started, _, skipped = drive(graph, nodes, data)
    if graph.failure is not None:
        return  # fast failure leaves nodes undecided (cancelled): covered above
    for node in nodes:
        edges = [graph.edge_state(src, port) for src, port in node.upstream]
        ran = node.index in started
        assert ran != (node.index in skipped)
        if node.when is JoinRule.ALL_DONE:
            assert ran
        elif node.when is JoinRule.ALL_SUCCESS and EdgeState.SKIPPED in edges:
            assert not ran
        elif node.when is JoinRule.ANY_SUCCESS:
            assert ran == (not edges or EdgeState.SUCCESS in edges)
        elif node.when is JoinRule.NONE_FAILED and node.upstream:
            assert ran == (EdgeState.FAILED not in edges and EdgeState.SUCCESS in edges)


@settings(max_examples=200, deadline=None)
@given(graphs(), st.data())
def test_precompleted_nodes_never_run_again(
    shape: tuple[list[Node], bool], data: st.DataObject
) -> None:
    nodes, sequential = shape
    done = data.draw(st.sets(st.integers(0, len(nodes) - 1)))
    completed = {i: ({"recorded": i}, None) for i in done}
    graph = ExecutionGraph(nodes, sequential=sequential, completed=completed)
    started, _, skipped = drive(graph, nodes, data)
    assert not set(started) & done
    graph.cancel_rest()
    assert all(status.is_terminal for status in graph.status)
    for i in done - set(skipped):
        assert graph.status[i] is C and graph.outputs[i] == {"recorded": i}


def test_a_chain_hands_each_node_the_previous_output() -> None:
    nodes = dag(3, [(0, 1, None), (1, 2, None)])
    graph = ExecutionGraph(nodes, sequential=True, inputs={"x": 1})
    assert graph.start() == [] and graph.ready() == [0]
    assert graph.input_for(0) == ({"x": 1}, {})
    assert graph.mark(0, C, output=5) == []
    assert graph.ready() == [1] and graph.input_for(1) == (5, {"n0": 5})
    graph.mark(1, C, output=6, port="ignored-in-a-chain")
    assert graph.ready() == [2]
    graph.mark(2, C, output=7)
    assert graph.done and graph.status == [C, C, C]


def test_an_untaken_port_skips_its_branch_and_the_skip_propagates() -> None:
    # 0 (if) -true-> 1 -> 3 ; 0 -false-> 2 -> 3 (none_failed) ; 1 -> 4 (all_success)
    nodes = dag(
        5,
        [(0, 1, "true"), (0, 2, "false"), (1, 3, None), (2, 3, None), (1, 4, None)],
        n3=JoinRule.NONE_FAILED,
    )
    graph = ExecutionGraph(nodes, sequential=False)
    graph.start()
    assert graph.ready() == [0]
    assert graph.mark(0, C, output="x", port="false") == [1, 4]
    assert graph.edge_state(0, "true") is EdgeState.SKIPPED
    assert graph.ready() == [2]
    graph.mark(2, C, output="y")
    assert graph.ready() == [3]
    assert graph.input_for(3) == ("y", {"n2": "y"})  # the skipped upstream is left out


def test_all_done_runs_after_a_continued_failure_and_any_success_leaves_it_out() -> None:
    nodes = dag(4, [(0, 2, None), (1, 2, None), (0, 3, None), (1, 3, None)], n2=JoinRule.ALL_DONE)
    nodes[3].when = JoinRule.ANY_SUCCESS
    nodes[0].continue_on_error = True
    graph = ExecutionGraph(nodes, sequential=False)
    graph.start()
    assert graph.ready() == [0, 1]
    graph.mark(0, F, output={"error": {"type": "E", "message": "m"}})
    assert graph.failure is None
    graph.mark(1, C, output=1)
    assert graph.ready() == [2, 3]
    assert graph.input_for(2)[0] == {"n0": {"error": {"type": "E", "message": "m"}}, "n1": 1}
    assert graph.input_for(3) == (1, {"n1": 1})


def test_a_failure_without_continue_stops_everything_not_started() -> None:
    nodes = dag(4, [(0, 1, None), (0, 2, None), (2, 3, None)], n3=JoinRule.ALL_DONE)
    graph = ExecutionGraph(nodes, sequential=False)
    graph.start()
    graph.ready()
    graph.mark(0, C)
    assert graph.ready() == [1, 2]
    assert graph.mark(1, F, output={"error": {}}) == []
    assert graph.failure == 1 and not graph.has_ready() and graph.ready() == []
    assert not graph.done  # node 2 still runs
    graph.mark(2, X)
    assert graph.done
    assert graph.cancel_rest() == [3]
    assert graph.status == [C, F, X, X]


def test_a_precompleted_if_skips_the_untaken_branch_at_start() -> None:
    nodes = dag(3, [(0, 1, "true"), (0, 2, "false")])
    graph = ExecutionGraph(nodes, sequential=False, completed={0: ("v", "true")})
    assert graph.start() == [2]
    assert graph.ready() == [1] and graph.input_for(1) == ("v", {"n0": "v"})


def test_ready_respects_its_limit_and_marking_twice_is_refused() -> None:
    nodes = dag(3, [])
    graph = ExecutionGraph(nodes, sequential=False)
    graph.start()
    assert graph.ready(2) == [0, 1] and graph.running == 2
    assert graph.ready(0) == [] and graph.ready() == [2]
    graph.mark(0, C)
    with pytest.raises(ValueError, match="not running"):
        graph.mark(0, C)
    with pytest.raises(ValueError, match="not the outcome"):
        graph.mark(1, S)


def test_a_compiled_plan_is_a_graph() -> None:
    blueprint = Blueprint.model_validate(
        {
            "id": "g",
            "nodes": [
                {"id": "a", "type": "set", "params": {"value": 1}},
                {"id": "b", "type": "if", "params": {"condition": "{{ input }}"}},
                {"id": "c", "type": "set", "params": {"value": 2}},
                {"id": "d", "type": "set", "params": {"value": 3}, "when": "all_done"},
            ],
            "edges": [
                {"source": "a", "target": "b"},
                {"source": "b", "target": "c", "source_port": "false"},
                {"source": "c", "target": "d"},
            ],
        }
    )
    plan = compile_plan(blueprint, default_registry(plugins=False))
    graph = ExecutionGraph(plan.nodes, sequential=plan.sequential, inputs={})
    graph.start()
    graph.mark(graph.ready()[0], C, output=1)
    assert graph.mark(graph.ready()[0], C, output=1, port="true") == [2]
    assert graph.ready() == [3]


@settings(max_examples=300, deadline=None)
@given(graphs(), st.data())
def test_disabled_nodes_never_run_and_pass_their_input_through(
    shape: tuple[list[Node], bool], data: st.DataObject
) -> None:
    """A disabled node is never handed out; when its rule would run it, it ends
    skipped with its input as output and its port-less edges succeed, so the graph
    downstream sees it as a node that completed with its input; otherwise it is
    skipped like any node. Every node still ends in one terminal state."""
    nodes, sequential = shape
    disabled = data.draw(st.sets(st.integers(0, len(nodes) - 1)))
    graph = ExecutionGraph(nodes, sequential=sequential, inputs={"in": 1}, disabled=disabled)
    started, _, skipped = drive(graph, nodes, data)
    cancelled = graph.cancel_rest()
    assert not set(started) & disabled
    assert len(skipped) == len(set(skipped))
    assert sorted(set(started) | set(skipped) | set(cancelled)) == list(range(len(nodes)))
    for index in disabled:
        node = nodes[index]
        if graph.passed(index):
            assert graph.status[index] is S
            assert graph.outputs[index] == graph.input_for(index)[0]
            if not node.upstream:
                assert graph.outputs[index] == {"in": 1}
            for target, port in node.downstream:
                expected = EdgeState.SUCCESS if port is None or sequential else EdgeState.SKIPPED
                assert graph.edge_state(index, port) is expected
                assert target in started or target in skipped or target in cancelled
        elif index not in cancelled:
            assert graph.status[index] is S and index in skipped
            assert not graph.should_run(index)  # only its rule skips it
    if graph.failure is None:
        assert cancelled == []


@settings(max_examples=300, deadline=None)
@given(graphs(), st.data())
def test_a_selection_runs_only_its_nodes_and_leaves_the_rest_skipped(
    shape: tuple[list[Node], bool], data: st.DataObject
) -> None:
    """With ``selected`` (a partial run) only selected nodes are handed out; every
    other node that is not precompleted ends skipped and outside, at start, and a
    precompleted node keeps its recorded output whatever happens upstream."""
    nodes, sequential = shape
    n = len(nodes)
    selected = data.draw(st.sets(st.integers(0, n - 1)))
    done = data.draw(st.sets(st.integers(0, n - 1))) - selected
    completed = {i: ({"recorded": i}, None) for i in done}
    graph = ExecutionGraph(nodes, sequential=sequential, completed=completed, selected=selected)
    outside = set(range(n)) - selected - done
    started, _, skipped = drive(graph, nodes, data)
    assert set(started) <= selected
    assert outside <= set(skipped)
    assert all(graph.outside(i) and graph.status[i] is S for i in outside)
    assert all(graph.status[i] is C and graph.outputs[i] == {"recorded": i} for i in done)
    graph.cancel_rest()
    assert all(status.is_terminal for status in graph.status)


def test_stop_after_shape_runs_the_upstream_chain_and_nothing_below() -> None:
    nodes = dag(4, [(0, 1, None), (1, 2, None), (2, 3, None)])
    graph = ExecutionGraph(nodes, sequential=False, selected={0, 1})
    assert graph.start() == [2, 3]
    assert graph.ready() == [0]
    assert graph.mark(0, C, output="a") == []
    assert graph.ready() == [1]
    graph.mark(1, C, output="b")
    assert graph.done and graph.status == [C, C, S, S]


def test_a_lone_node_runs_on_precompleted_upstreams_with_the_rest_outside() -> None:
    nodes = dag(4, [(0, 1, None), (1, 2, None), (2, 3, None)])
    graph = ExecutionGraph(nodes, sequential=False, completed={1: ("up", None)}, selected={2})
    assert graph.start() == [0, 3]
    assert graph.ready() == [2] and graph.input_for(2) == ("up", {"n1": "up"})


def test_a_disabled_if_passes_its_input_on_plain_edges_and_takes_no_branch() -> None:
    nodes = dag(4, [(0, 1, None), (1, 2, "true"), (1, 3, None)], n3=JoinRule.ALL_SUCCESS)
    graph = ExecutionGraph(nodes, sequential=False, inputs="in", disabled={1})
    graph.start()
    assert graph.ready() == [0]
    assert graph.mark(0, C, output="v") == [1, 2]
    assert graph.passed(1) and graph.outputs[1] == "v"
    assert graph.ready() == [3] and graph.input_for(3) == ("v", {"n1": "v"})
