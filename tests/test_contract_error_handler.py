"""Error handlers, the same over every transport: a failed execution of a blueprint
naming ``error_handler`` starts that blueprint with the failure as its input, as its
own execution, linked both ways; a failing handler starts none; cancelled runs start
none; an unknown handler id is a problem naming ``error_handler``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app import Conductor
from app.errors import BlueprintError
from app.states import ExecutionStatus

BOOM = "tests.node_functions:boom"

HANDLER: dict[str, Any] = {
    "id": "on-failure",
    "nodes": [
        {
            "id": "report",
            "type": "set",
            "params": {
                "value": {
                    "failed": "{{ inputs.execution_id }}",
                    "node": "{{ inputs.node_id }}",
                    "type": "{{ inputs.error.type }}",
                    "n": "{{ inputs.inputs.n }}",
                }
            },
        }
    ],
    "outputs": {"report": "report"},
}


def failing(handler: str | None = "on-failure", **extra: Any) -> dict[str, Any]:
    return {
        "id": "fragile",
        "inputs": {"n": {"type": "integer", "default": 7}},
        "error_handler": handler,
        "nodes": [
            {"id": "ok", "type": "set", "params": {"value": 1}},
            {"id": "bad", "type": "python.function", "params": {"function": BOOM}},
        ],
        **extra,
    }


async def test_a_failure_starts_the_handler_with_the_failure(any_conductor: Conductor) -> None:
    await any_conductor.save_blueprint(HANDLER)
    failed = await any_conductor.execute(blueprint=failing(), inputs={"n": 3})
    assert failed.status is ExecutionStatus.FAILED
    handler_id = failed.error_handler_execution_id
    assert handler_id is not None
    handled = await any_conductor.wait(handler_id)
    assert handled.status is ExecutionStatus.COMPLETED, handled.error
    assert handled.blueprint_id == "on-failure"
    assert handled.handler_for == failed.execution_id
    assert handled.outputs == {
        "report": {"failed": failed.execution_id, "node": "bad", "type": "ValueError", "n": 3}
    }
    assert handled.inputs["error"]["type"] == "ValueError"
    assert handled.error_handler_execution_id is None
    again = await any_conductor.get_execution(failed.execution_id)
    assert again.error_handler_execution_id == handler_id  # recorded, not just returned
    rows = {s.execution_id: s for s in await any_conductor.list_executions()}
    assert rows[failed.execution_id].error_handler_execution_id == handler_id
    assert rows[handler_id].handler_for == failed.execution_id
    assert sum(1 for s in rows.values() if s.blueprint_id == "on-failure") == 1


async def test_a_failing_handler_starts_no_other_handler(any_conductor: Conductor) -> None:
    # The handler is the failing blueprint itself: without the rule, it would loop.
    await any_conductor.save_blueprint(failing(handler="fragile"))
    failed = await any_conductor.execute(blueprint_id="fragile")
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error_handler_execution_id is not None
    handled = await any_conductor.wait(failed.error_handler_execution_id)
    assert handled.status is ExecutionStatus.FAILED
    assert handled.handler_for == failed.execution_id
    assert handled.error_handler_execution_id is None
    rows = await any_conductor.list_executions()
    assert len(rows) == 2


async def test_success_and_cancel_start_no_handler(any_conductor: Conductor) -> None:
    await any_conductor.save_blueprint(HANDLER)
    fine = {
        "id": "fine",
        "error_handler": "on-failure",
        "nodes": [{"id": "wait", "type": "delay", "params": {"seconds": 30}}],
    }
    eid = await any_conductor.start(blueprint=fine)
    await any_conductor.cancel(eid)
    cancelled = await any_conductor.wait(eid)
    assert cancelled.status is ExecutionStatus.CANCELLED
    assert cancelled.error_handler_execution_id is None
    fine["nodes"] = [{"id": "one", "type": "set", "params": {"value": 1}}]
    done = await any_conductor.execute(blueprint=fine)
    assert done.status is ExecutionStatus.COMPLETED
    assert done.error_handler_execution_id is None
    assert [s.blueprint_id for s in await any_conductor.list_executions()] == ["fine", "fine"]


async def test_an_unknown_handler_is_a_problem_naming_error_handler(
    any_conductor: Conductor,
) -> None:
    bp = failing(handler="no-such-handler")
    with pytest.raises(BlueprintError) as raised:
        await any_conductor.execute(blueprint=bp)
    assert [p.where for p in raised.value.problems] == ["error_handler"]
    problems = await any_conductor.validate(bp)
    assert [(p.where, p.code) for p in problems] == [("error_handler", "error_handler")]
    assert await any_conductor.list_executions() == []


async def test_the_execution_timeout_is_a_failure_that_starts_the_handler(
    any_conductor: Conductor,
) -> None:
    await any_conductor.save_blueprint(HANDLER)
    slow = {
        "id": "slow",
        "error_handler": "on-failure",
        "nodes": [{"id": "wait", "type": "delay", "params": {"seconds": 30}}],
    }
    failed = await any_conductor.execute(blueprint=slow, config={"timeout": 0.2})
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error_handler_execution_id is not None
    handled = await asyncio.wait_for(any_conductor.wait(failed.error_handler_execution_id), 60)
    assert failed.error is not None
    assert handled.inputs["error"] == {"type": failed.error.type, "message": failed.error.message}
