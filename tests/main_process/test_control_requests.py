"""Control requests reach an execution's owner whichever local process asks.

Only the owning process holds an execution's tasks, so another process (a second
CLI run, the GUI's worker, ``conductor serve``) records its request in the shared
store and the owner's watcher acts on it. Checked with a second engine in this
process, and with a real ``conductor run`` subprocess on the same data dir.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import Blueprint, create_simple_node
from app.errors import ExecutionNotFoundError
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine
from main_process.store.control import (
    REQUEST_TTL_SECONDS,
    ControlAction,
    request_control,
    take_control_requests,
)

REPO = Path(__file__).resolve().parents[2]


def _held(gate: asyncio.Event) -> Blueprint:
    async def wait_for_gate(value: Any) -> int:
        await gate.wait()
        return 1

    return Blueprint(id="held", nodes=[create_simple_node("h", "h", wait_for_gate)])


async def _until(predicate: Any, what: str, timeout: float = 30.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


async def test_a_second_engine_cancels_through_the_owner(home: Path) -> None:
    owner, other = Engine(home, plugins=False), Engine(home, plugins=False)
    gate = asyncio.Event()
    try:
        eid = await owner.start(blueprint=_held(gate))
        assert await other.cancel(eid) is True  # recorded for the owner, not refused
        result = await asyncio.wait_for(owner.wait(eid), 10.0)
        assert result.status is ExecutionStatus.CANCELLED
        assert result.nodes["h"].status is NodeStatus.CANCELLED
        assert (await other.get_execution(eid)).status is ExecutionStatus.CANCELLED
        assert await other.cancel(eid) is False  # finished: nothing to ask any more
    finally:
        gate.set()
        await other.close()
        await owner.close()


async def test_cancel_of_an_unknown_execution_is_not_found(home: Path) -> None:
    engine = Engine(home, plugins=False)
    try:
        with pytest.raises(ExecutionNotFoundError):
            await engine.cancel("no-such-execution")
    finally:
        await engine.close()


async def test_requests_are_taken_once_by_the_owner_only(home: Path) -> None:
    owner, other = Engine(home, plugins=False), Engine(home, plugins=False)
    gate = asyncio.Event()
    try:
        eid = await owner.start(blueprint=_held(gate))
        store = other.store
        await asyncio.to_thread(request_control, store, eid, ControlAction.PAUSE, "me")
        assert await asyncio.to_thread(take_control_requests, store, other.owner_id) == []
        taken = await asyncio.to_thread(take_control_requests, store, owner.owner_id)
        assert [(r.execution_id, r.action, r.requested_by) for r in taken] == [
            (eid, ControlAction.PAUSE, "me")
        ]
        assert await asyncio.to_thread(take_control_requests, store, owner.owner_id) == []
    finally:
        gate.set()
        await other.close()
        await owner.close()


def test_requests_nobody_takes_expire(home: Path) -> None:
    import time

    from main_process.store import Store

    store = Store(home)
    try:
        request_control(store, "gone", ControlAction.CANCEL, None)
        # An old request is dropped by the next owner's take, whoever that is.
        store.transaction(
            lambda conn: conn.execute(
                "UPDATE control_requests SET requested_at = ?",
                (time.time() - REQUEST_TTL_SECONDS - 1,),
            )
        )
        request_control(store, "other", ControlAction.CANCEL, None)
        take_control_requests(store, "any-owner")
        left = store.query("SELECT execution_id FROM control_requests")
        assert [row[0] for row in left] == ["other"]
    finally:
        store.close()


def _cli_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home)}
    env.pop("CONDUCTOR_API_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize("asker", ["engine", "cli"])
async def test_a_conductor_run_in_another_process_is_cancelled_from_here(
    home: Path, tmp_path: Path, asker: str
) -> None:
    """``conductor run`` owns the execution; this test's engine (or a ``conductor
    cancel`` in a third process) asks, and the run ends ``cancelled``."""
    slow = {
        "id": "slow",
        "nodes": [
            {"id": "start", "type": "set", "params": {"value": 1}},
            {"id": "wait", "type": "delay", "params": {"seconds": 60}},
            {"id": "after", "type": "log"},
        ],
    }
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(slow))
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "run", str(path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_env(home),
        cwd=tmp_path,
    )
    engine = Engine(home, plugins=False)
    try:

        async def delay_running() -> bool:  # the condition: its delay node runs over there
            assert proc.poll() is None, proc.communicate()
            running = await engine.list_executions(status=ExecutionStatus.RUNNING.value)
            if not running:
                return False
            events = await engine.recorded_events(running[0].execution_id)
            return any(e.node_id == "wait" and e.status == NodeStatus.RUNNING for e in events)

        await _until(delay_running, "the delay node running in the subprocess")
        (running,) = await engine.list_executions(status=ExecutionStatus.RUNNING.value)
        if asker == "engine":
            assert await engine.cancel(running.execution_id) is True
        else:
            asked = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "app", "cancel", running.execution_id, "--json"],
                check=False,
                capture_output=True,
                text=True,
                env=_cli_env(home),
                cwd=tmp_path,
                timeout=60,
            )
            assert asked.returncode == 0, asked.stderr
            assert json.loads(asked.stdout)["cancelled"] is True
        out, err = await asyncio.to_thread(proc.communicate, timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await engine.close()
    assert proc.returncode == 1, err
    result = json.loads(out)
    assert result["execution_id"] == running.execution_id
    assert result["status"] == ExecutionStatus.CANCELLED
    assert result["nodes"]["start"]["status"] == NodeStatus.COMPLETED
    assert result["nodes"]["wait"]["status"] == NodeStatus.CANCELLED


async def test_conductor_cancel_of_a_finished_or_unknown_execution(
    home: Path, tmp_path: Path
) -> None:
    engine = Engine(home, plugins=False)
    gate = asyncio.Event()
    gate.set()
    try:
        finished = await engine.execute(blueprint=_held(gate))
    finally:
        await engine.close()

    def cancel(execution_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "cancel", execution_id, "--json"],
            check=False,
            capture_output=True,
            text=True,
            env=_cli_env(home),
            cwd=tmp_path,
            timeout=60,
        )

    done = await asyncio.to_thread(cancel, finished.execution_id)
    assert (done.returncode, json.loads(done.stdout)["cancelled"]) == (1, False)
    unknown = await asyncio.to_thread(cancel, "no-such-execution")
    assert unknown.returncode == 2
    assert json.loads(unknown.stdout)["error"]["type"] == "ExecutionNotFoundError"
    assert "Traceback" not in unknown.stderr
