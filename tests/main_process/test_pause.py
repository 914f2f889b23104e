"""Pause and resume in place, against the real engine, and across a restart.

A paused execution starts no new node (running ones finish and are recorded),
keeps its execution slot, and is not terminal: ``wait`` and ``events`` keep
waiting. ``resume`` goes on in place; ``cancel`` ends it ``cancelled``. After its
process stops (closed, or killed) it stays ``paused`` and another engine resumes it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import Blueprint, create_simple_node
from app.errors import ExecutionNotFoundError, ResumeError
from app.events import Event
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine
from main_process.store.recovery import ensure_paused_claimable
from tests.main_process.http_harness import wait_until

ROOT = Path(__file__).resolve().parents[2]
FN = "tests.node_functions:"


class Gate:
    """An in-process node that waits until opened, counting its runs."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.runs = 0

    def node(self) -> Any:
        async def gate(value: Any) -> Any:
            self.runs += 1
            await self.opened.wait()
            return {"n": (value or {}).get("n", 0) + 1}

        return gate


def gated_chain(gate: Gate, counts: list[str]) -> Blueprint:
    def step(name: str) -> Any:
        def run(value: Any) -> Any:
            counts.append(name)
            return {"n": value["n"] + 1}

        return run

    return Blueprint(
        id="gated",
        nodes=[
            create_simple_node("a", "gate", gate.node()),
            create_simple_node("b", "step", step("b"), runner="inline"),
            create_simple_node("c", "step", step("c"), runner="inline"),
        ],
    )


async def status_of(engine: Engine, eid: str, node: str | None = None) -> str:
    result = await engine.get_execution(eid)
    return result.status if node is None else result.nodes[node].status


async def node_is(engine: Engine, eid: str, node: str, status: NodeStatus) -> None:
    async with asyncio.timeout(20):
        while await status_of(engine, eid, node) != status:
            await asyncio.sleep(0.005)


async def still_waiting(awaitable: Any) -> bool:
    """True when ``awaitable`` has not finished within a moment (and is cancelled)."""
    try:
        await asyncio.wait_for(asyncio.shield(awaitable), 0.3)
    except TimeoutError:
        return True
    return False


async def test_pause_lets_the_running_node_finish_and_starts_no_other(engine: Engine) -> None:
    gate, counts = Gate(), []
    eid = await engine.start(blueprint=gated_chain(gate, counts))
    events: list[Event] = []

    async def follow() -> None:
        async for event in engine.events(eid):
            events.append(event)

    follower = asyncio.create_task(follow())
    await node_is(engine, eid, "a", NodeStatus.RUNNING)
    assert await engine.pause(eid)
    assert await status_of(engine, eid) == ExecutionStatus.PAUSED  # at once
    assert await engine.pause(eid)  # again: still paused, no second event
    gate.opened.set()
    await node_is(engine, eid, "a", NodeStatus.COMPLETED)
    waiter = asyncio.ensure_future(engine.wait(eid))
    assert await still_waiting(waiter)
    assert not follower.done()
    result = await engine.get_execution(eid)
    assert result.status is ExecutionStatus.PAUSED
    assert result.nodes["b"].status is NodeStatus.PENDING and counts == []

    resumed = await engine.resume(eid)
    assert resumed.success and resumed.outputs == {"n": 3}
    assert counts == ["b", "c"] and gate.runs == 1
    assert (await waiter).success
    await asyncio.wait_for(follower, 10)
    statuses = [e.status for e in events if e.kind == "execution"]
    assert statuses == ["pending", "running", "paused", "running", "completed"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert not await engine.pause(eid)  # finished


async def test_cancel_while_paused_ends_cancelled(engine: Engine) -> None:
    gate, counts = Gate(), []
    eid = await engine.start(blueprint=gated_chain(gate, counts))
    await node_is(engine, eid, "a", NodeStatus.RUNNING)
    assert await engine.pause(eid)
    gate.opened.set()
    await node_is(engine, eid, "a", NodeStatus.COMPLETED)
    assert await engine.cancel(eid)
    result = await asyncio.wait_for(engine.wait(eid), 10)
    assert result.status is ExecutionStatus.CANCELLED
    assert [result.nodes[n].status for n in "abc"] == [
        NodeStatus.COMPLETED,
        NodeStatus.CANCELLED,
        NodeStatus.CANCELLED,
    ]
    assert counts == []
    assert not await engine.pause(eid)


async def test_a_paused_execution_keeps_its_slot_and_a_paused_pending_one_waits(
    home: Path, tmp_path: Path
) -> None:
    engine = Engine(home, base_dir=tmp_path, plugins=False, max_executions=1)
    try:
        first_gate, second_gate, counts = Gate(), Gate(), []
        first = await engine.start(blueprint=gated_chain(first_gate, counts))
        await node_is(engine, first, "a", NodeStatus.RUNNING)
        second = await engine.start(blueprint=gated_chain(second_gate, counts))
        async with asyncio.timeout(10):
            while (await engine.get_execution(second)).queue_position != 1:
                await asyncio.sleep(0.005)
        assert await engine.pause(second)  # pending: it will not start until resumed
        assert await status_of(engine, second) == ExecutionStatus.PAUSED
        assert await engine.pause(first)
        first_gate.opened.set()
        await node_is(engine, first, "a", NodeStatus.COMPLETED)
        # The paused first run keeps the only slot: the second stays unstarted.
        assert await status_of(engine, second) == ExecutionStatus.PAUSED
        assert await engine.resume(second, wait=False)
        assert await status_of(engine, second) == ExecutionStatus.PENDING
        assert await still_waiting(engine.wait(second))
        assert second_gate.runs == 0
        assert (await engine.resume(first)).success
        second_gate.opened.set()
        assert (await asyncio.wait_for(engine.wait(second), 10)).success
        assert second_gate.runs == 1
    finally:
        await engine.close()


async def test_pause_while_pending_holds_no_slot(home: Path, tmp_path: Path) -> None:
    engine = Engine(home, base_dir=tmp_path, plugins=False, max_executions=1)
    try:
        gates = [Gate(), Gate(), Gate()]
        counts: list[str] = []
        ids = [await engine.start(blueprint=gated_chain(g, counts)) for g in gates]
        await node_is(engine, ids[0], "a", NodeStatus.RUNNING)
        assert await engine.pause(ids[1])
        gates[0].opened.set()
        gates[2].opened.set()
        # The third goes first: the paused second does not take the freed slot.
        assert (await asyncio.wait_for(engine.wait(ids[2]), 10)).success
        assert gates[1].runs == 0
        assert await status_of(engine, ids[1]) == ExecutionStatus.PAUSED
        await engine.resume(ids[1], wait=False)
        gates[1].opened.set()
        assert (await asyncio.wait_for(engine.wait(ids[1]), 10)).success
    finally:
        await engine.close()


async def test_pause_of_an_unknown_execution_is_an_error(engine: Engine) -> None:
    with pytest.raises(ExecutionNotFoundError):
        await engine.pause("no-such-execution")


def recorded_chain() -> dict[str, Any]:
    return {
        "id": "pausable",
        "nodes": [
            {"id": "a", "type": "python.function", "params": {"function": FN + "block_while_file"}},
            {"id": "b", "type": "python.function", "params": {"function": FN + "record"}},
            {"id": "c", "type": "python.function", "params": {"function": FN + "record"}},
        ],
    }


@pytest.fixture
def test_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    log, block = tmp_path / "calls.log", tmp_path / "block"
    monkeypatch.setenv("CONDUCTOR_TEST_LOG", str(log))
    monkeypatch.setenv("CONDUCTOR_TEST_BLOCK", str(block))
    return {"log": log, "block": block}


async def test_a_paused_execution_stays_paused_after_close_and_resumes_elsewhere(
    home: Path, tmp_path: Path, test_env: dict[str, Path]
) -> None:
    test_env["block"].touch()
    first = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        eid = await first.start(blueprint=recorded_chain())
        await node_is(first, eid, "a", NodeStatus.RUNNING)
        assert await first.pause(eid)
        test_env["block"].unlink()
        await node_is(first, eid, "a", NodeStatus.COMPLETED)
    finally:
        await first.close()
    second = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        paused = await second.get_execution(eid)
        assert paused.status is ExecutionStatus.PAUSED
        assert paused.nodes["a"].status is NodeStatus.COMPLETED
        assert (await second.list_executions(status="paused"))[0].execution_id == eid
        result = await second.resume(eid)
        assert result.success and result.outputs == {"step": 3}
        assert test_env["log"].read_text().split() == ["1", "2", "3"]  # a ran once
        events = [e async for e in second.events(eid)]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert [e.status for e in events if e.kind == "execution"] == [
            "pending",
            "running",
            "paused",
            "running",
            "completed",
        ]
    finally:
        await second.close()


CHILD = """
import asyncio, sys
from main_process.engine.engine import Engine
from tests.main_process.test_pause import recorded_chain

async def main():
    engine = Engine(sys.argv[1], plugins=False)
    eid = await engine.start(blueprint=recorded_chain())
    print(eid, flush=True)
    while (await engine.get_execution(eid)).nodes["a"].status != "running":
        await asyncio.sleep(0.01)
    assert await engine.pause(eid)
    await engine.store.flush()
    print("paused", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_paused_execution_survives_its_process_being_killed(
    home: Path, tmp_path: Path, test_env: dict[str, Path]
) -> None:
    test_env["block"].touch()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        text=True,
    )
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        assert child.stdout is not None
        eid = child.stdout.readline().strip()
        assert child.stdout.readline().strip() == "paused"
        test_env["block"].unlink()
        await wait_until(test_env["log"].exists, 20)  # a ran, while paused
        await node_is(engine, eid, "a", NodeStatus.COMPLETED)
        assert await status_of(engine, eid) == ExecutionStatus.PAUSED
        # While its owner lives, no other process may take it over (a resume from here
        # is forwarded to the owner as a control request instead).
        assert engine.store is not None
        with pytest.raises(ResumeError, match="another live process"):
            ensure_paused_claimable(engine.store, eid, engine.owner_id)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

        paused = await engine.get_execution(eid)
        assert paused.status is ExecutionStatus.PAUSED  # not interrupted
        result = await engine.resume(eid)
        assert result.success and result.outputs == {"step": 3}
        assert test_env["log"].read_text().split() == ["1", "2", "3"]
    finally:
        if child.poll() is None:
            child.kill()
        await engine.close()
