"""The driver's ownership rules against the real engine: a cancel from outside the
driver's task (twice, while nodes clean up), a node cancelling its own execution,
and a cancel before the driver ever ran. Every case ends terminal, with every node
terminal, and ``wait`` and ``events`` end."""

from __future__ import annotations

import asyncio
from typing import Any

from app import Blueprint, create_simple_node
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine


def slow_pair(cleanups: list[str]) -> Blueprint:
    def slow(name: str) -> Any:
        async def run(value: Any) -> Any:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cleanups.append(name)
                await asyncio.sleep(0.2)
                raise
            return value

        return run

    return Blueprint.model_validate(
        {
            "id": "pair",
            "nodes": [
                create_simple_node("a", "slow", slow("a")),
                create_simple_node("b", "slow", slow("b")),
                create_simple_node("after", "slow", slow("after")),
            ],
            "edges": [{"source": "a", "target": "after"}, {"source": "b", "target": "after"}],
        }
    )


async def all_running(engine: Engine, eid: str, nodes: tuple[str, ...]) -> None:
    async with asyncio.timeout(10):
        while True:
            states = (await engine.get_execution(eid)).nodes
            if all(states[n].status is NodeStatus.RUNNING for n in nodes):
                return
            await asyncio.sleep(0.005)


async def test_cancelling_the_drivers_task_twice_still_ends_it_terminal(engine: Engine) -> None:
    cleanups: list[str] = []
    eid = await engine.start(blueprint=slow_pair(cleanups), config={"parallel": True})
    await all_running(engine, eid, ("a", "b"))
    task = engine.runs._tasks[eid]  # the task that owns the driver: cancelled from outside
    task.cancel()
    async with asyncio.timeout(10):
        while len(cleanups) < 2:
            await asyncio.sleep(0.005)
    task.cancel()  # again, while both nodes clean up
    result = await asyncio.wait_for(engine.wait(eid), 10)
    assert task.cancelled()
    assert result.status is ExecutionStatus.INTERRUPTED
    assert {n: r.status for n, r in result.nodes.items()} == {
        "a": NodeStatus.CANCELLED,
        "b": NodeStatus.CANCELLED,
        "after": NodeStatus.CANCELLED,
    }
    events = [e async for e in engine.events(eid)]
    assert events[-1].status == "interrupted"
    assert not engine.records.is_active(eid)


async def test_a_node_cancelling_its_own_execution(engine: Engine) -> None:
    async def cancel_me(value: Any, ctx: Any) -> Any:
        assert await engine.cancel(ctx.execution_id)
        assert await engine.cancel(ctx.execution_id)  # idempotent
        return value

    async def never(value: Any) -> Any:
        raise AssertionError("a node after the cancel ran")

    blueprint = Blueprint(
        id="self-cancel",
        nodes=[create_simple_node("a", "c", cancel_me), create_simple_node("b", "n", never)],
    )
    result = await asyncio.wait_for(engine.execute(blueprint=blueprint), 10)
    assert result.status is ExecutionStatus.CANCELLED
    assert result.nodes["a"].status is NodeStatus.COMPLETED
    assert result.nodes["b"].status is NodeStatus.CANCELLED


async def test_a_cancel_before_the_driver_runs(engine: Engine) -> None:
    cleanups: list[str] = []
    eid = await engine.start(blueprint=slow_pair(cleanups))
    assert await engine.cancel(eid)
    assert await engine.cancel(eid)
    result = await asyncio.wait_for(engine.wait(eid), 10)
    assert result.status is ExecutionStatus.CANCELLED
    assert all(r.status is NodeStatus.CANCELLED for r in result.nodes.values())
    assert cleanups == []
    assert not await engine.cancel(eid)
