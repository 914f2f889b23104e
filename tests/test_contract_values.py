"""Values over every transport (issue 11, item 4): JSON nested up to 1,000 levels is
recorded and carried faithfully — in-process (direct), a spawned worker over a pipe
(ipc), a real HTTP server (http) — and an output that is deeper, or not JSON at all
(bytes, an object, a set, a cycle), fails its node by name and path, never leaving
the execution ``running``, a 500 or a hang."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app import Conductor
from app.json_values import dumps
from app.states import ExecutionStatus, NodeStatus
from tests.value_functions import nested


def maker(**spec: Any) -> dict[str, Any]:
    """A blueprint whose one node returns the value ``spec`` names (its inputs)."""
    del spec
    return {
        "id": "values",
        "nodes": [
            {
                "id": "make",
                "type": "python.function",
                "params": {"function": "tests.value_functions:make"},
                "timeout": 30,
            }
        ],
    }


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON (``==`` on lists 1,000 deep runs out of recursion)."""
    return dumps(a) == dumps(b)


async def _ended(conductor: Conductor, execution_id: str) -> list[str]:
    """The execution's event stream, followed to its end (bounded in time)."""
    statuses: list[str] = []
    async with asyncio.timeout(30):
        async for event in conductor.events(execution_id):
            if event.kind == "execution" and event.status is not None:
                statuses.append(str(event.status))
    return statuses


@pytest.mark.parametrize("depth", [260, 1000])
async def test_deep_json_is_recorded_and_carried_whole(
    any_conductor: Conductor, depth: int
) -> None:
    expected = nested(depth)
    spec = {"kind": "deep", "depth": depth}
    result = await any_conductor.execute(blueprint=maker(), inputs=spec)
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert same_json(result.nodes["make"].output, expected)
    assert same_json(result.outputs, expected)
    stored = await any_conductor.get_execution(result.execution_id)
    assert stored.status is ExecutionStatus.COMPLETED
    assert same_json(stored.nodes["make"].output, expected)
    assert "__unserializable__" not in dumps(stored.nodes["make"].output).decode()
    page = await any_conductor.node_output(result.execution_id, "make")
    assert page.total == 1  # one key ("a") or one item, whichever ``depth`` ends on
    paged = dict(page.items) if page.kind == "object" else page.items
    assert same_json(paged, expected)
    assert (await _ended(any_conductor, result.execution_id))[-1] == "completed"


BAD = [
    ({"kind": "deep", "depth": 1001}, "nested more than 1,000 levels", "…"),
    ({"kind": "deep", "depth": 100_000}, "nested more than 1,000 levels", "…"),
    ({"kind": "bytes"}, "bytes are not JSON", "$.data.items[1]"),
    ({"kind": "object"}, "Opaque object, not JSON", "$.data.items[1]"),
    ({"kind": "set"}, "sets are not JSON", "$.data.items[1]"),
    ({"kind": "cycle"}, "contains itself", "$.data.items[1][0].again"),
    ({"kind": "bigint"}, "an integer of 81 bits", "$.data.items[1]"),
]


@pytest.mark.parametrize(("spec", "reason", "path"), BAD, ids=[str(b[0]["kind"]) for b in BAD])
async def test_an_output_that_is_not_json_fails_its_node_by_path(
    any_conductor: Conductor, spec: dict[str, Any], reason: str, path: str
) -> None:
    async with asyncio.timeout(60):  # never a hang past the node's timeout
        result = await any_conductor.execute(blueprint=maker(), inputs=spec)
    assert result.status is ExecutionStatus.FAILED
    error = result.error
    assert error is not None
    assert (error.type, error.node_id) == ("NodeOutputError", "make")
    assert error.where == "nodes[0].output"
    assert reason in error.message and path in error.message
    assert len(error.message) < 400  # a deep path is cut, not printed whole
    node = result.nodes["make"]
    assert node.status is NodeStatus.FAILED and node.error is not None
    eid = result.execution_id
    stored = await any_conductor.get_execution(eid)
    assert stored.status is ExecutionStatus.FAILED
    assert stored.nodes["make"].error is not None
    assert stored.nodes["make"].error.type == "NodeOutputError"
    assert (await _ended(any_conductor, eid))[-1] == "failed"
    assert await any_conductor.cancel(eid) is False  # finished, not stuck running
    async with asyncio.timeout(60):
        again = await any_conductor.resume(eid)  # re-runs the node: the same failure
    assert again.status is ExecutionStatus.FAILED
    assert again.error is not None and again.error.type == "NodeOutputError"


PROCESS_CASES = [
    ({"kind": "deep", "depth": 1000}, None),
    ({"kind": "deep", "depth": 1001}, "nested more than 1,000 levels"),
    ({"kind": "deep", "depth": 100_000}, "nested more than 1,000 levels"),
    ({"kind": "bytes"}, "bytes are not JSON"),  # not turned into text on the way
    ({"kind": "set"}, "sets are not JSON"),  # nor into a list
    ({"kind": "object"}, "Opaque object, not JSON"),
    ({"kind": "cycle"}, "contains itself"),
    ({"kind": "bigint"}, "an integer of 81 bits"),
    ({"kind": "intkey"}, "keys must be text"),  # not written as "1" on the way
]


@pytest.mark.parametrize(
    ("spec", "reason"), PROCESS_CASES, ids=[str(c[0]["kind"]) for c in PROCESS_CASES]
)
async def test_the_process_runner_applies_the_same_rules(
    conductor: Conductor, spec: dict[str, Any], reason: str | None
) -> None:
    """A node on a worker process: the same values pass and fail, by the same path."""
    blueprint = maker()
    blueprint["nodes"][0]["runner"] = "process"
    async with asyncio.timeout(60):
        result = await conductor.execute(blueprint=blueprint, inputs=spec)
    if reason is None:
        assert result.status is ExecutionStatus.COMPLETED, result.error
        assert same_json(result.outputs, nested(spec["depth"]))
        return
    assert result.status is ExecutionStatus.FAILED
    error = result.error
    assert error is not None and (error.type, error.node_id) == ("NodeOutputError", "make")
    assert error.where == "nodes[0].output"
    assert reason in error.message and len(error.message) < 400
    assert result.nodes["make"].attempts == 1  # not retried: the same code returns the same


LOGGED = [
    ({"kind": "deep", "depth": 300}, None),
    ({"kind": "deep", "depth": 2000}, "<not JSON at $.a[0]"),
    ({"kind": "bytes"}, "<not JSON at $.data.items[1]: bytes"),
    ({"kind": "cycle"}, "<not JSON at $.data.items[1][0].again"),
]


@pytest.mark.parametrize("runner", ["thread", "process"])
async def test_a_logged_value_never_fails_the_record(any_conductor: Conductor, runner: str) -> None:
    """What a node logs is recorded as it is when JSON, else as a note of what and where:
    a deep or cyclic log value once ended its execution with a StoreError."""
    node = {
        "id": "log",
        "type": "python.function",
        "runner": runner,
        "params": {"function": "tests.value_functions:log_value"},
        "timeout": 30,
    }
    for spec, note in LOGGED:
        async with asyncio.timeout(60):
            result = await any_conductor.execute(
                blueprint={"id": "log", "nodes": [node]}, inputs=spec
            )
        assert result.status is ExecutionStatus.COMPLETED, (spec, result.error)
        logs = [e async for e in any_conductor.events(result.execution_id) if e.kind == "log"]
        assert len(logs) == 1 and logs[0].data is not None
        value = logs[0].data["value"]
        if note is None:
            assert same_json(value, nested(spec["depth"]))
        else:
            assert isinstance(value, str) and value.startswith(note), value


async def test_deep_inputs_cross_too(any_conductor: Conductor) -> None:
    """Inputs 1,000 levels deep reach the engine over every transport, and come back."""
    inputs = {"deep": nested(999)}
    blueprint = {
        "id": "echo",
        "nodes": [{"id": "echo", "type": "python.function", "params": {"function": "copy:copy"}}],
    }
    async with asyncio.timeout(60):
        result = await any_conductor.execute(blueprint=blueprint, inputs=inputs)
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert same_json(result.outputs, inputs)
