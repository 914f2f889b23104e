"""The contract: one API, the same results, errors and event sequences over every
transport — in-process (direct), a spawned worker over a pipe (ipc), and a real
HTTP server on 127.0.0.1 (http)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app import Conductor
from app.errors import BlueprintError, ExecutionNotFoundError
from app.events import Event
from app.states import ExecutionStatus, NodeStatus


def sequence() -> dict[str, Any]:
    return {
        "id": "seq",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": {"items": [1, 2, 3]}}},
            {"id": "b", "type": "json.transform", "params": {"expression": "items"}},
            {"id": "c", "type": "log", "params": {"message": "got {{ input | length }}"}},
        ],
    }


def shape(events: list[Event]) -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.node_id, e.status) for e in events]


async def test_results_and_event_sequences_match(any_conductor: Conductor) -> None:
    eid = await any_conductor.start(blueprint=sequence())
    events = [e async for e in any_conductor.events(eid)]
    result = await any_conductor.wait(eid)
    assert result.success and result.outputs == [1, 2, 3]
    assert [n.status for n in result.nodes.values()] == [NodeStatus.COMPLETED] * 3
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert shape(events) == [
        ("execution", None, "pending"),
        ("execution", None, "running"),
        ("node", "a", "running"),
        ("node", "a", "completed"),
        ("node", "b", "running"),
        ("node", "b", "completed"),
        ("node", "c", "running"),
        ("log", "c", None),
        ("node", "c", "completed"),
        ("execution", None, "completed"),
    ]
    replay = [e async for e in any_conductor.events(eid, after_seq=4)]
    assert shape(replay) == shape(events)[4:]


@pytest.mark.parametrize(
    ("example", "inputs", "expected"),
    [
        ("branch", {"amount": 40}, {"decision": "approved", "amount": 40}),
        ("fan-out-fan-in", {"numbers": [2, 7, 1]}, None),
        ("large-items", {"count": 500}, None),
    ],
)
async def test_examples_give_the_same_results(
    any_conductor: Conductor, example: str, inputs: dict[str, Any], expected: Any
) -> None:
    result = await any_conductor.execute(blueprint_id=example, inputs=inputs)
    assert result.success, result.error
    if expected is not None:
        assert result.outputs == expected
    again = await any_conductor.get_execution(result.execution_id)
    assert again.outputs == result.outputs
    assert {k: v.status for k, v in again.nodes.items()} == {
        k: v.status for k, v in result.nodes.items()
    }


async def test_an_invalid_blueprint_is_the_same_typed_error(any_conductor: Conductor) -> None:
    broken = {
        "id": "broken",
        "nodes": [{"id": "a", "type": "nope"}, {"id": "a", "type": "set"}],
        "edges": [{"source": "a", "target": "ghost"}],
    }
    with pytest.raises(BlueprintError) as caught:
        await any_conductor.execute(blueprint=broken)
    assert {p.where for p in caught.value.problems} >= {"nodes[0].type", "nodes[1].id"}
    assert any(p.where.startswith("edges[0].target") for p in caught.value.problems)
    problems = await any_conductor.validate(broken)
    assert [p.where for p in problems] == [p.where for p in caught.value.problems]


async def test_node_failure_and_timeout_are_results(any_conductor: Conductor) -> None:
    failing = {
        "id": "fails",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": {"x": 1}}},
            {"id": "b", "type": "set", "params": {"value": "{{ input.nope.deeper }}"}},
            {"id": "c", "type": "set", "params": {"value": 3}},
        ],
    }
    result = await any_conductor.execute(blueprint=failing)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert (result.error.type, result.error.node_id) == ("TemplateError", "b")
    assert result.nodes["c"].status is NodeStatus.CANCELLED

    slow = {
        "id": "slow",
        "nodes": [{"id": "w", "type": "delay", "params": {"seconds": 30}, "timeout": 0.05}],
    }
    timed = await any_conductor.execute(blueprint=slow)
    assert timed.error is not None
    assert (timed.error.type, timed.error.node_id) == ("NodeTimeoutError", "w")


async def test_cancel_mid_run(any_conductor: Conductor) -> None:
    slow = {
        "id": "slow",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": 1}},
            {"id": "wait", "type": "delay", "params": {"seconds": 30}},
        ],
    }
    eid = await any_conductor.start(blueprint=slow)
    async with asyncio.timeout(20):
        async for event in any_conductor.events(eid):
            if event.node_id == "wait" and event.status == "running":
                break
    assert await any_conductor.cancel(eid) is True
    result = await any_conductor.wait(eid)
    assert result.status is ExecutionStatus.CANCELLED
    assert result.nodes["wait"].status is NodeStatus.CANCELLED
    assert result.error is not None and result.error.type == "ExecutionCancelledError"


async def test_unknown_executions_are_the_same_typed_error(any_conductor: Conductor) -> None:
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.get_execution("no-such-execution")
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.cancel("no-such-execution")
    with pytest.raises(ExecutionNotFoundError):
        [e async for e in any_conductor.events("no-such-execution")]
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.resume("no-such-execution")


async def test_blueprint_library_round_trip(any_conductor: Conductor) -> None:
    saved = await any_conductor.save_blueprint(sequence())
    assert saved.id == "seq" and saved.source == "user"
    listed = {b.id: b.source for b in await any_conductor.list_blueprints()}
    assert listed["seq"] == "user" and listed["branch"] == "example"
    fetched = await any_conductor.get_blueprint("seq")
    assert [n.id for n in fetched.nodes] == ["a", "b", "c"]
    result = await any_conductor.execute(blueprint_id="seq")
    assert result.outputs == [1, 2, 3]
    types = {t.type for t in await any_conductor.node_types()}
    assert {"set", "if", "switch", "http.request", "sqlite.write"} <= types
    await any_conductor.delete_blueprint("seq")
    assert "seq" not in {b.id for b in await any_conductor.list_blueprints()}
