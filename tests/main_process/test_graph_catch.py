"""The ``catch`` node in the pure execution graph (no loop): what a caught failure
releases, when the catch is ready, and what it receives."""

from __future__ import annotations

from typing import Any

from app.blueprint import Blueprint
from app.states import NodeStatus
from main_process.engine.graph import ExecutionGraph
from main_process.engine.plan import Plan, compile_plan
from main_process.nodes.registry import default_registry

C, F, S = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.SKIPPED


def plan(nodes: list[dict[str, Any]], edges: list[tuple[str, str]]) -> Plan:
    bp = Blueprint.model_validate(
        {
            "id": "g",
            "nodes": nodes,
            "edges": [{"source": a, "target": b} for a, b in edges],
        }
    )
    return compile_plan(bp, default_registry(plugins=False))


def node(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "set", **extra}


def ids(p: Plan, indices: list[int]) -> list[str]:
    return [p.nodes[i].id for i in indices]


def error(message: str) -> dict[str, Any]:
    return {"error": {"type": "ValueError", "message": message}}


def test_the_catch_waits_for_its_whole_scope_and_gets_every_failure() -> None:
    p = plan(
        [node("a"), node("b"), node("c"), node("x", type="catch"), node("after")],
        [("a", "x"), ("b", "x"), ("c", "x"), ("x", "after")],
    )
    graph = ExecutionGraph(p.nodes, sequential=False)
    assert graph.start() == []
    a, b, c, x, after = range(5)
    assert graph.ready() == [a, b, c]
    assert graph.mark(b, F, error("second")) == []
    assert graph.failure is None  # caught: no fast failure
    assert graph.mark(a, F, error("first")) == []
    assert not graph.has_ready()  # c still runs: the catch waits for its whole scope
    graph.mark(c, C, 3)
    assert graph.ready() == [x]
    value, _ = graph.input_for(x)
    assert value == {
        "node_id": "a",
        "error": error("first")["error"],
        "failures": [
            {"node_id": "a", "error": error("first")["error"]},
            {"node_id": "b", "error": error("second")["error"]},
        ],
    }
    graph.mark(x, C, value)
    assert graph.ready() == [after]
    graph.mark(after, C, value)
    assert graph.done and graph.failure is None


def test_a_caught_failure_skips_its_downstream_but_not_its_neighbours() -> None:
    p = plan(
        [node("start"), node("risky"), node("next"), node("side"), node("x", type="catch")],
        [("start", "risky"), ("risky", "next"), ("start", "side"), ("next", "x")],
    )
    graph = ExecutionGraph(p.nodes, sequential=False)
    graph.start()
    start, risky, _next, side, x = range(5)
    assert graph.ready() == [start]
    graph.mark(start, C, 1)
    assert sorted(graph.ready()) == [risky, side]
    assert ids(p, graph.mark(risky, F, error("boom"))) == ["next"]
    assert graph.ready() == [x]  # its scope (start, risky, next) is decided
    graph.mark(side, C, 2)
    graph.mark(x, C, graph.input_for(x)[0])
    assert graph.done and graph.failure is None
    assert graph.status == [C, F, S, C, C]


def test_no_failure_in_scope_skips_the_catch_and_what_follows_it() -> None:
    p = plan([node("a"), node("x", type="catch"), node("after")], [("a", "x"), ("x", "after")])
    graph = ExecutionGraph(p.nodes, sequential=False)
    graph.start()
    graph.ready()
    assert ids(p, graph.mark(0, C, 1)) == ["x", "after"]
    assert graph.done


def test_a_listed_scope_leaves_other_failures_fast() -> None:
    p = plan(
        [node("a"), node("b"), node("x", type="catch", params={"nodes": ["b"]})],
        [("a", "b")],
    )
    graph = ExecutionGraph(p.nodes, sequential=False)
    graph.start()
    assert graph.ready() == [0]
    graph.mark(0, F, error("a failed"))
    assert graph.failure == 0  # a is in no scope: the execution fails
    assert not graph.has_ready()


def test_a_continued_failure_in_scope_runs_its_downstream_and_fires_the_catch() -> None:
    p = plan(
        [node("a", on_error="continue"), node("b"), node("x", type="catch")],
        [("a", "b"), ("b", "x")],
    )
    graph = ExecutionGraph(p.nodes, sequential=False)
    graph.start()
    graph.ready()
    graph.mark(0, F, error("soft"))
    assert graph.ready() == [1]  # on_error: continue keeps its meaning
    graph.mark(1, C, 2)
    assert graph.ready() == [2]
    assert graph.input_for(2)[0]["node_id"] == "a"
