"""Sub-blueprints and loops on every transport (in-process, a spawned worker over a
pipe, a real HTTP server): the bundled examples run, and the links and iterations
reads answer alike, typed errors included."""

from __future__ import annotations

import pytest

from app import Conductor
from app.errors import BlueprintError, ConfigError, ExecutionNotFoundError
from app.states import ExecutionStatus, NodeStatus


async def test_call_example_links_parent_and_child(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint_id="subflow-parent", inputs={"net": 40})
    assert result.success, result.error
    assert result.outputs == {"report": {"net": 40, "gross": 50.0}}
    links = await any_conductor.subflows.execution_links(result.execution_id)
    [child] = links.children
    assert child.blueprint_id == "subflow-child" and child.parent_node_id == "price"
    assert child.status is ExecutionStatus.COMPLETED
    up = await any_conductor.subflows.execution_links(child.execution_id)
    assert up.parent_execution_id == result.execution_id and up.parent_node_id == "price"
    got = await any_conductor.get_execution(child.execution_id)
    assert got.outputs == {"gross": 50.0}
    assert (got.parent_execution_id, got.parent_node_id) == (result.execution_id, "price")
    listed = {s.execution_id: s for s in await any_conductor.list_executions()}
    assert listed[child.execution_id].parent_execution_id == result.execution_id
    assert listed[result.execution_id].parent_execution_id is None


async def test_loop_example_records_its_iterations(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint_id="loop-items")
    assert result.success, result.error
    assert result.outputs["total"] == 120
    assert [line["label"]["position"] for line in result.outputs["lines"]] == [1, 2, 3]
    links = await any_conductor.subflows.execution_links(result.execution_id)
    assert links.loops["each"].completed == 3 and links.loops["each"].failed == 0
    page = await any_conductor.subflows.list_iterations(
        result.execution_id, "each", limit=2, output_index=1
    )
    assert [i.index for i in page.items] == [0, 1]
    assert all(i.status is NodeStatus.COMPLETED and i.has_output for i in page.items)
    assert page.items[1].output == {"label": {"position": 2, "name": "lamp", "total": 40}}
    assert page.items[0].output is None
    rest = await any_conductor.subflows.list_iterations(result.execution_id, "each", offset=2)
    assert [i.index for i in rest.items] == [2]


async def test_bad_requests_are_the_same_typed_errors(any_conductor: Conductor) -> None:
    broken = {
        "id": "calls-nothing",
        "nodes": [{"id": "c", "type": "blueprint.call", "params": {"blueprint_id": "nope"}}],
    }
    with pytest.raises(BlueprintError) as caught:
        await any_conductor.execute(blueprint=broken)
    assert caught.value.problems[0].where == "nodes[0].params.blueprint_id"
    result = await any_conductor.execute(blueprint_id="loop-items")
    with pytest.raises(ConfigError):
        await any_conductor.subflows.list_iterations(result.execution_id, "each", limit=0)
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.subflows.list_iterations(result.execution_id, "no-such-node")
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.subflows.execution_links("no-such-execution")
