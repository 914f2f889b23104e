"""Cancelling an execution again while its first cancel is still cleaning up.

A double click one tick apart, the execution ``timeout`` firing during a cancel,
and ``close()`` during a cancel must all end the execution terminal (the first
reason wins): ``wait`` returns a result, the event stream ends, nothing stays
``running``. The nodes take a while to give up when cancelled (they note when
they start to, in a file, so the tests wait on that instead of on time). Every
case runs over every transport: in-process, a spawned worker over the pipe, and
a real HTTP server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app import Conductor, create_conductor
from app.errors import ConductorError
from app.events import Event
from app.states import ExecutionStatus, NodeStatus
from tests.main_process.http_harness import open_conductor, wait_until

FN = "tests.node_functions:slow_to_cancel"


def slow_pair(marker: Path, cleanup: float = 0.3) -> dict[str, Any]:
    """Two parallel nodes that sleep, and take ``cleanup`` seconds once cancelled."""
    value = {"seconds": 60, "cleanup": cleanup, "marker": str(marker)}
    return {
        "id": "slow-pair",
        "nodes": [
            {"id": "start", "type": "set", "params": {"value": value}},
            {"id": "a", "type": "python.function", "params": {"function": FN}},
            {"id": "b", "type": "python.function", "params": {"function": FN}},
            {"id": "after", "type": "set", "params": {"value": 1}},
        ],
        "edges": [
            {"source": "start", "target": "a"},
            {"source": "start", "target": "b"},
            {"source": "a", "target": "after"},
            {"source": "b", "target": "after"},
        ],
    }


async def both_running(marker: Path) -> None:
    """Both slow nodes are inside their sleep (not still importing their function)."""
    started = Path(f"{marker}.started")
    await wait_until(lambda: started.exists() and len(started.read_text().split()) == 2, 30)


async def collect(c: Conductor, eid: str) -> list[Event]:
    return [e async for e in c.events(eid)]


def assert_ended(events: list[Event], status: ExecutionStatus) -> None:
    assert events[-1].kind == "execution" and events[-1].status == status
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_a_double_cancel_one_tick_apart_ends_cancelled(
    any_conductor: Conductor, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelling"
    eid = await any_conductor.start(blueprint=slow_pair(marker), config={"parallel": True})
    follower = asyncio.create_task(collect(any_conductor, eid))
    await both_running(marker)
    assert await any_conductor.cancel(eid)
    await asyncio.sleep(0)
    await any_conductor.cancel(eid)  # while the first is still cleaning up
    result = await asyncio.wait_for(any_conductor.wait(eid), 30)
    assert result.status is ExecutionStatus.CANCELLED
    assert result.error is not None and result.error.type == "ExecutionCancelledError"
    assert {n: result.nodes[n].status for n in ("start", "a", "b", "after")} == {
        "start": NodeStatus.COMPLETED,
        "a": NodeStatus.CANCELLED,
        "b": NodeStatus.CANCELLED,
        "after": NodeStatus.CANCELLED,
    }
    assert_ended(await asyncio.wait_for(follower, 30), ExecutionStatus.CANCELLED)
    assert not await any_conductor.cancel(eid)


async def test_a_second_cancel_while_the_first_cleans_up_changes_nothing(
    any_conductor: Conductor, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelling"
    eid = await any_conductor.start(
        blueprint=slow_pair(marker, cleanup=0.5), config={"parallel": True}
    )
    await both_running(marker)
    assert await any_conductor.cancel(eid)
    await wait_until(marker.exists, 30)
    await any_conductor.cancel(eid)
    await any_conductor.cancel(eid)
    result = await asyncio.wait_for(any_conductor.wait(eid), 30)
    assert result.status is ExecutionStatus.CANCELLED
    assert_ended(await asyncio.wait_for(collect(any_conductor, eid), 30), result.status)


async def test_a_cancel_while_the_timeout_cleans_up_ends_it_timed_out(
    any_conductor: Conductor, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelling"
    eid = await any_conductor.start(
        blueprint=slow_pair(marker, cleanup=0.5), config={"parallel": True, "timeout": 3.0}
    )
    follower = asyncio.create_task(collect(any_conductor, eid))
    await both_running(marker)
    await wait_until(marker.exists, 30)  # the timeout fired: the nodes are giving up
    await any_conductor.cancel(eid)
    result = await asyncio.wait_for(any_conductor.wait(eid), 30)
    assert result.status is ExecutionStatus.FAILED  # the first reason wins
    assert result.error is not None and result.error.type == "ExecutionTimeoutError"
    assert_ended(await asyncio.wait_for(follower, 30), ExecutionStatus.FAILED)


async def test_the_timeout_during_a_cancel_changes_nothing(
    any_conductor: Conductor, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelling"
    eid = await any_conductor.start(
        blueprint=slow_pair(marker, cleanup=1.0), config={"parallel": True, "timeout": 2.0}
    )
    await both_running(marker)
    assert await any_conductor.cancel(eid)
    result = await asyncio.wait_for(any_conductor.wait(eid), 30)
    assert result.status in (ExecutionStatus.CANCELLED, ExecutionStatus.FAILED)
    if (result.finished_at or 0) - (result.created_at or 0) < 2.0:
        assert result.status is ExecutionStatus.CANCELLED
    assert_ended(await asyncio.wait_for(collect(any_conductor, eid), 30), result.status)


@pytest.mark.parametrize("transport", ["direct", "ipc"])
async def test_close_during_a_cancel_ends_it_cancelled(
    transport: str, home: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelling"
    async with open_conductor(transport, home, tmp_path) as c:
        eid = await c.start(blueprint=slow_pair(marker, cleanup=0.5), config={"parallel": True})
        await both_running(marker)
        waiter = asyncio.create_task(c.wait(eid))
        follower = asyncio.create_task(collect(c, eid))
        assert await c.cancel(eid)
        await wait_until(marker.exists, 30)
        await asyncio.wait_for(c.close(), 30)
        try:
            result = await asyncio.wait_for(waiter, 30)
        except ConductorError:
            assert transport == "ipc"  # the pipe closed under the call: a typed error
        else:
            assert result.status is ExecutionStatus.CANCELLED
        try:
            events = await asyncio.wait_for(follower, 30)
        except ConductorError:
            assert transport == "ipc"
        else:
            assert_ended(events, ExecutionStatus.CANCELLED)
    later = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    try:
        recorded = await later.get_execution(eid)
        assert recorded.status is ExecutionStatus.CANCELLED
        events = [e async for e in later.events(eid)]
        assert_ended(events, ExecutionStatus.CANCELLED)
    finally:
        await later.close()
