"""Run from here: a node and its downstream run again; the rest reuse the outputs
that an earlier execution recorded, except nodes whose definition changed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from app import Blueprint, Conductor, EdgeSpec, NodeSpec, create_simple_node
from app.errors import ConfigError
from app.partial_runs import nodes_to_run
from app.states import NodeStatus


def counted(calls: Counter[str]) -> Blueprint:
    def step(name: str) -> Any:
        async def run(value: Any) -> Any:
            calls[name] += 1
            return {"by": name, "got": value}

        return run

    return Blueprint(
        id="partial",
        nodes=[create_simple_node(n, "step", step(n)) for n in ("a", "b", "c", "d")],
        edges=[
            EdgeSpec(source="a", target="b"),
            EdgeSpec(source="b", target="c"),
        ],
    )


async def test_run_from_a_node_reuses_upstream_outputs(conductor: Conductor) -> None:
    calls: Counter[str] = Counter()
    bp = counted(calls)
    first = await conductor.execute(blueprint=bp, inputs={"x": 1})
    assert first.success
    assert calls == Counter({"a": 1, "b": 1, "c": 1, "d": 1})

    again = await conductor.execute(
        blueprint=bp, inputs={"x": 1}, config={"start_at": "b", "reuse_from": first.execution_id}
    )
    assert again.success, again.error
    assert calls == Counter({"a": 1, "b": 2, "c": 2, "d": 1})  # a and d were reused
    assert again.execution_id != first.execution_id
    assert again.nodes["a"].status is NodeStatus.COMPLETED
    assert again.nodes["a"].output == first.nodes["a"].output
    assert again.nodes["b"].output == {"by": "b", "got": first.nodes["a"].output}
    events = [e async for e in conductor.events(again.execution_id)]
    reused = {
        e.node_id for e in events if e.kind == "node" and e.data and e.data.get("reused_from")
    }
    assert reused == {"a", "d"}

    # Without reuse_from, the blueprint's latest execution is reused.
    await conductor.execute(blueprint=bp, inputs={"x": 1}, config={"start_at": "c"})
    assert calls == Counter({"a": 1, "b": 2, "c": 3, "d": 1})


def test_changed_nodes_run_again_with_their_downstream() -> None:
    before = Blueprint(
        id="p",
        nodes=[NodeSpec(id=n, type="set", params={"value": n}) for n in ("a", "b", "c", "d")],
        edges=[EdgeSpec(source="a", target="b"), EdgeSpec(source="b", target="c")],
    )
    after = before.model_copy(deep=True)
    after.nodes[0].params["value"] = "changed"
    done = {n: object() for n in ("a", "b", "c", "d")}
    assert nodes_to_run(after, before, done, "c") == {"a", "b", "c"}
    assert nodes_to_run(before, before, done, "c") == {"c"}
    del done["d"]  # never completed: runs
    assert nodes_to_run(before, before, done, "c") == {"c", "d"}


async def test_run_from_here_refuses_what_it_cannot_do(conductor: Conductor) -> None:
    calls: Counter[str] = Counter()
    bp = counted(calls)
    with pytest.raises(ConfigError, match="no earlier execution"):
        await conductor.execute(blueprint=bp, config={"start_at": "b"})
    await conductor.execute(blueprint=bp)
    with pytest.raises(ConfigError, match="start_at names no node"):
        await conductor.execute(blueprint=bp, config={"start_at": "zzz"})
