"""The ``catch`` node, the same over every transport: a failure in its scope ends
that node ``failed``, skips its downstream, runs the catch with the failure and
lets the rest of the blueprint go on (the execution completes)."""

from __future__ import annotations

from typing import Any

import pytest

from app import Conductor
from app.errors import BlueprintError
from app.states import ExecutionStatus, NodeStatus

C, F, S = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.SKIPPED
BOOM = "tests.node_functions:boom"


def guarded(*, fail: bool, nodes: list[str] | None = None) -> dict[str, Any]:
    """start → risky → after; start → other; risky/after caught by ``catch`` → handled."""
    risky: dict[str, Any] = (
        {"id": "risky", "type": "python.function", "params": {"function": BOOM}}
        if fail
        else {"id": "risky", "type": "set", "params": {"value": "fine"}}
    )
    catch: dict[str, Any] = {"id": "catch", "type": "catch"}
    if nodes is not None:
        catch["params"] = {"nodes": nodes}
    return {
        "id": "guarded",
        "nodes": [
            {"id": "start", "type": "set", "params": {"value": 1}},
            risky,
            {"id": "after", "type": "set", "params": {"value": "{{ input }}"}},
            {"id": "other", "type": "set", "params": {"value": "{{ input + 1 }}"}},
            catch,
            {"id": "handled", "type": "set", "params": {"value": "{{ input.error.message }}"}},
        ],
        "edges": [
            {"source": "start", "target": "risky"},
            {"source": "risky", "target": "after"},
            {"source": "start", "target": "other"},
            {"source": "after", "target": "catch"},
            {"source": "catch", "target": "handled"},
        ],
        "outputs": {"other": "other", "handled": "handled"},
    }


async def test_a_caught_failure_lets_the_execution_go_on(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint=guarded(fail=True))
    assert result.status is ExecutionStatus.COMPLETED, result.error
    nodes = result.nodes
    assert nodes["risky"].status is F
    assert nodes["after"].status is S  # downstream of the failure, skipped as usual
    assert nodes["other"].status is C  # outside the scope: not cancelled
    assert nodes["catch"].status is C
    caught = nodes["catch"].output
    assert caught["node_id"] == "risky"
    assert caught["error"]["type"] == "ValueError"
    assert "boom" in caught["error"]["message"]
    assert [f["node_id"] for f in caught["failures"]] == ["risky"]
    assert nodes["handled"].status is C
    assert result.outputs == {"other": 2, "handled": caught["error"]["message"]}


async def test_a_catch_is_skipped_when_nothing_in_scope_fails(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint=guarded(fail=False))
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.nodes["catch"].status is S
    assert result.nodes["handled"].status is S
    assert result.nodes["after"].status is C


async def test_a_failure_outside_every_scope_still_fails_fast(any_conductor: Conductor) -> None:
    # The catch lists only "after": risky's failure is nobody's to catch.
    result = await any_conductor.execute(blueprint=guarded(fail=True, nodes=["after"]))
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and "boom" in result.error.message
    assert result.nodes["risky"].status is F


async def test_listed_scope_catches_a_node_not_wired_to_the_catch(
    any_conductor: Conductor,
) -> None:
    bp = guarded(fail=True, nodes=["risky"])
    result = await any_conductor.execute(blueprint=bp)
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.nodes["catch"].output["node_id"] == "risky"


@pytest.mark.parametrize(
    ("nodes", "where"),
    [
        (["nope"], "nodes[4].params.nodes[0]"),
        (["catch"], "nodes[4].params.nodes[0]"),
        (["handled"], "nodes[4].params.nodes[0]"),
    ],
)
async def test_a_bad_catch_scope_is_a_typed_problem(
    any_conductor: Conductor, nodes: list[str], where: str
) -> None:
    with pytest.raises(BlueprintError) as raised:
        await any_conductor.execute(blueprint=guarded(fail=True, nodes=nodes))
    assert where in [p.where for p in raised.value.problems]
    problems = await any_conductor.validate(guarded(fail=True, nodes=nodes))
    assert any(p.where == where and p.code == "catch" for p in problems)
