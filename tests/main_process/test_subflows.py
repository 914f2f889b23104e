"""Sub-blueprints (``blueprint.call``) and loops on a real engine and SQLite file:
child executions linked both ways, under the parent's slot, cancelled with it;
recursion and unknown ids refused where visible, typed failures where not; loops in
item order with each ``on_item_error`` mode, recorded iterations, and a resume that
re-runs only the iterations without a recorded completion."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.errors import BlueprintError
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine


def save(home: Path, blueprint: dict[str, Any]) -> None:
    folder = home / "blueprints"
    folder.mkdir(exist_ok=True)
    (folder / f"{blueprint['id']}.json").write_text(json.dumps(blueprint))


def call(node_id: str, target: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "blueprint.call", "params": {"blueprint_id": target, **params}}


DOUBLE = {
    "id": "double",
    "inputs": {"x": {"type": "integer", "default": 1}},
    "nodes": [{"id": "d", "type": "set", "params": {"value": "{{ inputs.x * 2 }}"}}],
    "outputs": {"y": "{{ nodes.d.output }}"},
}
SLOW = {
    "id": "slow",
    "nodes": [{"id": "wait", "type": "delay", "params": {"seconds": 30}}],
}
BODY = {
    "id": "body",
    "inputs": {"item": {"type": "any"}, "index": {"type": "integer"}},
    "nodes": [
        {
            "id": "step",
            "type": "python.function",
            "params": {"function": "tests.node_functions:loop_item"},
        }
    ],
}
SQUARE = {
    "id": "square",
    "nodes": [{"id": "sq", "type": "set", "params": {"value": "{{ item * item + index * 0 }}"}}],
}


def loop_bp(items: Any, body: str = "body", **params: Any) -> dict[str, Any]:
    return {
        "id": "looper",
        "nodes": [
            {"id": "items", "type": "set", "params": {"value": items}},
            {
                "id": "each",
                "type": "loop",
                "params": {"items": "{{ input }}", "body": body, **params},
            },
        ],
    }


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    log, fail = tmp_path / "calls.log", tmp_path / "fail"
    monkeypatch.setenv("CONDUCTOR_TEST_LOG", str(log))
    monkeypatch.setenv("CONDUCTOR_TEST_FAIL", str(fail))
    return {"log": log, "fail": fail}


async def test_call_runs_a_linked_child_and_outputs_its_outputs(engine: Engine, home: Path) -> None:
    save(home, DOUBLE)
    parent = {"id": "parent", "nodes": [call("c", "double", inputs={"x": "{{ 20 + 1 }}"})]}
    result = await engine.execute(blueprint=parent)
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs == {"y": 42}
    links = await engine.subflows.links(result.execution_id)
    [child] = links.children
    assert (child.parent_node_id, child.blueprint_id) == ("c", "double")
    assert child.status is ExecutionStatus.COMPLETED
    back = await engine.subflows.links(child.execution_id)
    assert (back.parent_execution_id, back.parent_node_id) == (result.execution_id, "c")
    child_result = await engine.get_execution(child.execution_id)
    assert child_result.outputs == {"y": 42}
    assert child_result.parent_execution_id == result.execution_id
    assert child_result.parent_node_id == "c"
    logs = [e async for e in engine.events(result.execution_id) if e.kind == "log"]
    assert any(e.data and e.data.get("child_execution_id") == child.execution_id for e in logs)


async def test_no_wait_outputs_the_child_id_and_the_child_runs_on(
    engine: Engine, home: Path
) -> None:
    save(home, DOUBLE)
    parent = {"id": "parent", "nodes": [call("c", "double", wait=False, inputs={"x": 5})]}
    result = await engine.execute(blueprint=parent)
    child_id = result.outputs["execution_id"]
    child = await engine.wait(child_id)
    assert child.outputs == {"y": 10}


async def test_children_run_under_the_parent_slot_at_every_limit(
    home: Path, tmp_path: Path
) -> None:
    save(home, DOUBLE)
    save(home, SQUARE)
    eng = Engine(home, base_dir=tmp_path, plugins=False, max_executions=1, global_concurrency=1)
    try:
        parent = {
            "id": "parent",
            "nodes": [
                call("c1", "double", inputs={"x": 1}),
                call("c2", "double", inputs={"x": "{{ input.y }}"}),
                {"id": "l", "type": "loop", "params": {"items": [1, 2, 3], "body": "square"}},
            ],
        }
        result = await asyncio.wait_for(eng.execute(blueprint=parent), 20)
        assert result.status is ExecutionStatus.COMPLETED, result.error
        assert result.outputs == [1, 4, 9]
        assert result.nodes["c2"].output == {"y": 4}
    finally:
        await eng.close()


async def test_cancelling_the_parent_cancels_the_child(engine: Engine, home: Path) -> None:
    save(home, SLOW)
    eid = await engine.start(blueprint={"id": "parent", "nodes": [call("c", "slow")]})
    async for event in engine.events(eid):
        if event.kind == "log" and event.data and "child_execution_id" in event.data:
            child_id = event.data["child_execution_id"]
            break
    assert await engine.cancel(eid)
    assert (await engine.wait(eid)).status is ExecutionStatus.CANCELLED
    assert (await engine.wait(child_id)).status is ExecutionStatus.CANCELLED


async def test_unknown_ids_and_cycles_are_validation_problems(engine: Engine, home: Path) -> None:
    unknown = {"id": "p", "nodes": [{"id": "s", "type": "set"}, call("c", "nope")]}
    [problem] = await engine.validate(unknown)
    assert problem.where == "nodes[1].params.blueprint_id"
    assert "nope" in problem.message and "'c'" in problem.message
    with pytest.raises(BlueprintError):
        await engine.execute(blueprint=unknown)
    save(home, {"id": "b", "nodes": [call("back", "a")]})
    cycle = {"id": "a", "nodes": [call("to_b", "b")]}
    [problem] = await engine.validate(cycle)
    assert problem.where == "nodes[0].params.blueprint_id"
    assert "recursion: a → b → a" in problem.message
    [problem] = await engine.validate({"id": "a", "nodes": [call("me", "a")]})
    assert problem.code == "recursion"
    loop_unknown = loop_bp([1], body="nope")
    [problem] = await engine.validate(loop_unknown)
    assert problem.where == "nodes[1].params.body"


async def test_depth_beyond_the_limit_is_a_problem(
    engine: Engine, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_MAX_SUBFLOW_DEPTH", "3")
    for level in range(1, 5):
        save(home, {"id": f"d{level}", "nodes": [call("next", f"d{level + 1}")]})
    save(home, DOUBLE | {"id": "d5"})
    [problem] = await engine.validate({"id": "top", "nodes": [call("go", "d1")]})
    assert "deeper than the limit of 3" in problem.message
    assert await engine.validate({"id": "top", "nodes": [call("go", "d3")]}) == []  # depth 3


async def test_templated_recursion_is_a_typed_failure_at_run_time(
    engine: Engine, home: Path
) -> None:
    save(home, {"id": "b", "nodes": [call("back", "{{ 'a' }}")]})
    save(home, {"id": "a", "nodes": [call("to_b", "b")]})
    result = await engine.execute(blueprint_id="a")
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "ChildExecutionError"
    [child] = (await engine.subflows.links(result.execution_id)).children
    inner = await engine.get_execution(child.execution_id)
    assert inner.error is not None and inner.error.type == "SubflowRecursionError"
    assert inner.error.node_id == "back"


async def test_loop_outputs_results_in_item_order(engine: Engine, home: Path) -> None:
    save(home, SQUARE)
    result = await engine.execute(blueprint=loop_bp([3, 1, 2, 5], body="square", concurrency=3))
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs == [9, 1, 4, 25]
    page = await engine.subflows.iterations(result.execution_id, "each", output_index=3)
    assert [i.index for i in page.items] == [0, 1, 2, 3]
    assert page.counts.completed == 4
    assert page.items[3].output == 25 and page.items[0].output is None


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("continue", [0, None, 4]),
        ("collect", {"results": [0, None, 4], "errors": [{"index": 1}]}),
    ],
)
async def test_failed_items_continue_or_collect(
    engine: Engine, home: Path, env: dict[str, Path], mode: str, expected: Any
) -> None:
    save(home, BODY)
    env["fail"].write_text("1")
    result = await engine.execute(blueprint=loop_bp([0, 1, 2], on_item_error=mode))
    assert result.status is ExecutionStatus.COMPLETED, result.error
    if mode == "collect":
        [error] = result.outputs["errors"]
        assert error["index"] == 1 and "item 1 fails" in error["error"]["message"]
        result.outputs["errors"] = [{"index": 1}]
    assert result.outputs == expected
    page = await engine.subflows.iterations(result.execution_id, "each", status="failed")
    [failed] = page.items
    assert failed.index == 1 and failed.status is NodeStatus.FAILED and failed.error is not None


async def test_a_loop_over_a_non_list_names_the_node_and_what_it_got(
    engine: Engine, home: Path
) -> None:
    save(home, SQUARE)
    result = await engine.execute(blueprint=loop_bp({"a": 1}, body="square"))
    assert result.error is not None
    assert result.error.type == "LoopItemsError"
    assert result.error.node_id == "each"
    assert result.error.where == "nodes[1].params.items"
    assert "got an object" in result.error.message


async def test_resume_reruns_only_iterations_without_a_completion(
    engine: Engine, home: Path, env: dict[str, Path]
) -> None:
    save(home, BODY)
    env["fail"].write_text("7000")
    first = await engine.execute(blueprint=loop_bp(list(range(10_000))))
    assert first.status is ExecutionStatus.FAILED
    assert first.error is not None and "item 7000 failed" in first.error.message
    links = await engine.subflows.links(first.execution_id)
    assert links.loops["each"].completed == 7000 and links.loops["each"].failed == 1
    env["fail"].unlink()
    resumed = await engine.resume(first.execution_id)
    assert resumed.status is ExecutionStatus.COMPLETED, resumed.error
    assert resumed.outputs == [i * 2 for i in range(10_000)]
    runs = Counter(int(line) for line in env["log"].read_text().split())
    assert all(runs[i] == 1 for i in range(7000))
    assert runs[7000] == 2
    assert all(runs[i] == 1 for i in range(7001, 10_000))
    logs = [e async for e in engine.events(first.execution_id) if e.kind == "log"]
    assert logs[-1].data is not None
    assert logs[-1].data["loop"] == {"done": 3000, "failed": 0, "total": 10_000, "reused": 7000}


async def test_templated_nesting_past_the_limit_fails_typed(
    engine: Engine, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_MAX_SUBFLOW_DEPTH", "3")
    for level in range(1, 6):
        save(home, {"id": f"t{level}", "nodes": [call("next", f"{{{{ 't{level + 1}' }}}}")]})
    result = await engine.execute(blueprint_id="t1")
    assert result.status is ExecutionStatus.FAILED
    chain = [result.execution_id]
    while True:
        children = (await engine.subflows.links(chain[-1])).children
        if not children:
            break
        chain.append(children[0].execution_id)
    assert len(chain) == 4  # t1 → t2 → t3 → t4 (depth 3); t4's call is refused
    deepest = await engine.get_execution(chain[-1])
    assert deepest.error is not None and deepest.error.type == "SubflowRecursionError"
    assert "deeper than the limit of 3" in deepest.error.message


async def test_cancelling_a_loop_keeps_the_iterations_it_finished(
    engine: Engine, home: Path
) -> None:
    save(home, {"id": "nap", "nodes": [{"id": "d", "type": "delay", "params": {"seconds": 0.02}}]})
    eid = await engine.start(blueprint=loop_bp(list(range(2000)), body="nap", concurrency=4))
    async for event in engine.events(eid):
        if event.kind == "log" and event.data and event.data["loop"]["done"] > 0:
            break
    assert await engine.cancel(eid)
    result = await engine.wait(eid)
    assert result.status is ExecutionStatus.CANCELLED
    assert result.nodes["each"].status is NodeStatus.CANCELLED
    counts = (await engine.subflows.links(eid)).loops["each"]
    assert 0 < counts.completed < 2000 and counts.failed == 0
