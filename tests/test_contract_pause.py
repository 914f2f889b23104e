"""The contract for pause and for typed events, once per transport (direct, ipc, http).

Pause: ``pause(id)`` answers like ``cancel`` (True when it took effect); the
execution shows ``paused`` at once, starts no new node, and ``resume`` continues
it in place to the end. The engine's pause is another part of issue 10; the tests
that need it are marked until it lands.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app import Conductor
from app.errors import ExecutionNotFoundError
from app.events import ExecutionEvent, NodeEvent
from app.states import ExecutionStatus, NodeStatus


def slow_then_quick(seconds: float = 0.6) -> dict[str, Any]:
    return {
        "id": "slow-then-quick",
        "nodes": [
            {"id": "first", "type": "delay", "params": {"seconds": seconds}},
            {"id": "second", "type": "set", "params": {"value": "done"}},
        ],
    }


async def _until_status(c: Conductor, eid: str, status: ExecutionStatus) -> None:
    async with asyncio.timeout(10):
        while (await c.get_execution(eid)).status is not status:
            await asyncio.sleep(0.02)


async def test_pause_is_offered_on_every_transport(any_conductor: Conductor) -> None:
    """The operation exists everywhere and answers a bool; a finished execution is not
    paused, and an unknown id is the same typed error as for cancel."""
    done = await any_conductor.execute(blueprint=slow_then_quick(0.0))
    assert done.success
    assert await any_conductor.pause(done.execution_id) is False
    assert (await any_conductor.get_execution(done.execution_id)).status is (
        ExecutionStatus.COMPLETED
    )
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.cancel("no-such-execution")


async def test_an_unknown_execution_cannot_be_paused(any_conductor: Conductor) -> None:
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.pause("no-such-execution")


async def test_pause_then_resume_completes_in_place(any_conductor: Conductor) -> None:
    eid = await any_conductor.start(blueprint=slow_then_quick())
    await _until_status(any_conductor, eid, ExecutionStatus.RUNNING)
    assert await any_conductor.pause(eid) is True
    paused = await any_conductor.get_execution(eid)
    assert paused.status is ExecutionStatus.PAUSED
    # Paused is not an end: the running node finishes, the next one does not start.
    async with asyncio.timeout(10):
        while (await any_conductor.get_execution(eid)).nodes["first"].status is not (
            NodeStatus.COMPLETED
        ):
            await asyncio.sleep(0.02)
    held = await any_conductor.get_execution(eid)
    assert held.status is ExecutionStatus.PAUSED
    assert held.nodes["second"].status is NodeStatus.PENDING
    result = await any_conductor.resume(eid)
    assert result.execution_id == eid
    assert result.status is ExecutionStatus.COMPLETED and result.outputs == "done"
    events = [e async for e in any_conductor.events(eid)]
    statuses = [e.status for e in events if isinstance(e, ExecutionEvent)]
    assert ExecutionStatus.PAUSED in statuses and statuses[-1] is ExecutionStatus.COMPLETED


async def test_cancel_while_paused_ends_cancelled(any_conductor: Conductor) -> None:
    eid = await any_conductor.start(blueprint=slow_then_quick())
    await _until_status(any_conductor, eid, ExecutionStatus.RUNNING)
    assert await any_conductor.pause(eid) is True
    assert await any_conductor.cancel(eid) is True
    result = await any_conductor.wait(eid)
    assert result.status is ExecutionStatus.CANCELLED


async def test_events_are_typed_on_every_transport(any_conductor: Conductor) -> None:
    branch = {
        "id": "typed",
        "nodes": [
            {"id": "check", "type": "if", "params": {"condition": "{{ true }}"}},
            {"id": "yes", "type": "set", "params": {"value": 1}},
        ],
        "edges": [{"source": "check", "source_port": "true", "target": "yes"}],
    }
    eid = await any_conductor.start(blueprint=branch)
    events = [e async for e in any_conductor.events(eid)]
    first, last = events[0], events[-1]
    assert isinstance(first, ExecutionEvent) and first.status is ExecutionStatus.PENDING
    assert isinstance(last, ExecutionEvent) and last.is_terminal
    assert last.status is ExecutionStatus.COMPLETED
    ended = [e for e in events if isinstance(e, NodeEvent) and e.status.is_terminal]
    assert {e.node_id: e.status for e in ended} == {
        "check": NodeStatus.COMPLETED,
        "yes": NodeStatus.COMPLETED,
    }
    check = next(e for e in ended if e.node_id == "check")
    assert check.port == "true"
    assert isinstance(check.output_size, int) and check.output_size > 0
    assert check.error is None


async def test_a_failed_node_event_carries_a_typed_error(any_conductor: Conductor) -> None:
    failing = {
        "id": "fails",
        "nodes": [
            {
                "id": "bad",
                "type": "python.function",
                "params": {"function": "tests.node_functions:boom"},
            }
        ],
    }
    eid = await any_conductor.start(blueprint=failing)
    events = [e async for e in any_conductor.events(eid)]
    failed = [e for e in events if isinstance(e, NodeEvent) and e.status is NodeStatus.FAILED]
    assert len(failed) == 1 and failed[0].error is not None
    assert failed[0].error.type and failed[0].error.message
    last = events[-1]
    assert isinstance(last, ExecutionEvent) and last.status is ExecutionStatus.FAILED
    assert last.error is not None
