"""Crash and resume: a real engine process is SIGKILLed mid-run; the next engine
marks its execution interrupted and resume re-runs only what did not complete."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from app import Blueprint, NodeSpec, ResumeError, create_conductor
from app.states import ExecutionStatus, NodeStatus
from main_process.store.chunks import decode_nodes

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, sys
from app import create_conductor

async def main() -> None:
    c = create_conductor("direct", home=sys.argv[1], plugins=False)
    eid = await c.start(blueprint_id="crashy")
    print(eid, flush=True)
    async for e in c.events(eid):
        if e.node_id == "n3" and e.status == "running":
            print("blocked", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def fn(name: str) -> str:
    return f"tests.node_functions:{name}"


def crashy() -> Blueprint:
    return Blueprint(
        id="crashy",
        nodes=[
            NodeSpec(id="n1", type="python.function", params={"function": fn("record")}),
            NodeSpec(id="n2", type="python.function", params={"function": fn("record")}),
            NodeSpec(id="n3", type="python.function", params={"function": fn("block_while_file")}),
            NodeSpec(id="n4", type="python.function", params={"function": fn("record")}),
            NodeSpec(id="n5", type="python.function", params={"function": fn("record")}),
        ],
    )


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def node_status(db: Path, eid: str, node: str) -> str | None:
    """A node's recorded status, read straight from another process's database."""
    conn = sqlite3.connect(db)
    try:
        chunks = conn.execute(
            "SELECT chunk FROM node_runs WHERE execution_id = ? ORDER BY first_seq", (eid,)
        ).fetchall()
    finally:
        conn.close()
    status = None
    for (chunk,) in chunks:
        for record in decode_nodes(chunk):
            if record["node_id"] == node:
                status = str(record["status"])
    return status


def node_started(db: Path, eid: str, node: str) -> bool:
    """Whether a node's ``running`` event is committed in another process's database."""
    conn = sqlite3.connect(db)
    try:
        chunks = conn.execute("SELECT chunk FROM events WHERE execution_id = ?", (eid,)).fetchall()
    finally:
        conn.close()
    return any(
        row[3] == node and row[4] == "running" for (chunk,) in chunks for row in orjson.loads(chunk)
    )


@pytest.fixture
def test_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    log = tmp_path / "calls.log"
    block = tmp_path / "block"
    monkeypatch.setenv("CONDUCTOR_TEST_LOG", str(log))
    monkeypatch.setenv("CONDUCTOR_TEST_BLOCK", str(block))
    monkeypatch.setenv("CONDUCTOR_TEST_FAIL", str(tmp_path / "fail"))
    return {"log": str(log), "block": str(block), "fail": str(tmp_path / "fail")}


async def test_sigkill_mid_run_then_resume_runs_only_unfinished_nodes(
    home: Path, test_env: dict[str, str]
) -> None:
    setup = create_conductor("direct", home=home, plugins=False)
    await setup.save_blueprint(crashy())
    await setup.close()
    Path(test_env["block"]).touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        text=True,
    )
    try:
        assert child.stdout is not None
        eid = child.stdout.readline().strip()
        assert child.stdout.readline().strip() == "blocked"
        db = home / "conductor.db"
        wait_for(lambda: node_status(db, eid, "n2") == "completed")
        # n2's completion is committed before n3 starts; n3's start follows within a batch.
        wait_for(lambda: node_started(db, eid, "n3"))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    Path(test_env["block"]).unlink()

    c = create_conductor("direct", home=home, plugins=False)
    try:
        interrupted = await c.get_execution(eid)
        assert interrupted.status is ExecutionStatus.INTERRUPTED
        assert interrupted.nodes["n2"].status is NodeStatus.COMPLETED
        assert interrupted.nodes["n3"].status is NodeStatus.CANCELLED
        before = [e async for e in c.events(eid)]
        assert before[-1].status == "interrupted"

        result = await c.resume(eid)
        assert result.success, result.error
        assert result.execution_id == eid
        assert result.outputs == {"step": 5}
        calls = Path(test_env["log"]).read_text().split()
        assert calls == ["1", "2", "3", "4", "5"]  # n1 and n2 were not run again
        after = [e async for e in c.events(eid)]
        assert [e.seq for e in after] == list(range(1, len(after) + 1))
        assert after[: len(before)] == before
        assert after[-1].status == "completed"
    finally:
        await c.close()


async def test_resume_a_failed_run_and_refuse_a_changed_blueprint(
    home: Path, test_env: dict[str, str]
) -> None:
    bp = Blueprint(
        id="flaky",
        nodes=[
            NodeSpec(id="a", type="python.function", params={"function": fn("record")}),
            NodeSpec(id="b", type="python.function", params={"function": fn("fail_while_file")}),
            NodeSpec(id="c", type="python.function", params={"function": fn("record")}),
        ],
    )
    Path(test_env["fail"]).touch()
    c = create_conductor("direct", home=home, plugins=False)
    try:
        await c.save_blueprint(bp)
        failed = await c.execute(blueprint_id="flaky")
        assert failed.status is ExecutionStatus.FAILED
        assert failed.error is not None and failed.error.node_id == "b"

        changed = bp.model_copy(deep=True)
        changed.nodes[2].params["function"] = fn("block_while_file")
        await c.save_blueprint(changed)
        with pytest.raises(ResumeError, match="changed since execution"):
            await c.resume(failed.execution_id)

        await c.save_blueprint(bp)
        Path(test_env["fail"]).unlink()
        resumed = await c.resume(failed.execution_id)
        assert resumed.success, resumed.error
        assert Path(test_env["log"]).read_text().split() == ["1", "2", "3"]
        with pytest.raises(ResumeError, match="already completed"):
            await c.resume(failed.execution_id)
    finally:
        await c.close()


async def test_moving_nodes_in_the_editor_does_not_block_resume(
    home: Path, test_env: dict[str, str]
) -> None:
    bp = Blueprint(
        id="laid-out",
        nodes=[
            NodeSpec(id="b", type="python.function", params={"function": fn("fail_while_file")})
        ],
    )
    Path(test_env["fail"]).touch()
    c = create_conductor("direct", home=home, plugins=False)
    try:
        await c.save_blueprint(bp)
        failed = await c.execute(blueprint_id="laid-out")
        moved = bp.model_copy(deep=True)
        moved.ui.positions["b"] = (100.0, 40.0)
        await c.save_blueprint(moved)
        Path(test_env["fail"]).unlink()
        resumed = await c.resume(failed.execution_id)
        assert resumed.success
    finally:
        await c.close()
