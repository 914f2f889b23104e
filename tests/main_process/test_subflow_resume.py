"""A parent and its child execution killed together (SIGKILL of a real engine
process): resuming the parent resumes the same child execution, which re-runs only
its unfinished nodes, and the parent goes on with the child's outputs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from app import Blueprint, NodeSpec, create_conductor
from app.states import ExecutionStatus, NodeStatus
from tests.main_process.test_resume import ROOT, fn, node_started, test_env, wait_for

__all__ = ["test_env"]  # the fixture, shared with the resume tests

CHILD = r"""
import asyncio, sys
from app import create_conductor

async def main() -> None:
    c = create_conductor("direct", home=sys.argv[1], plugins=False)
    eid = await c.start(blueprint_id="outer")
    print(eid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def child_of(db: Path, eid: str) -> str | None:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT id FROM executions WHERE parent_execution_id = ?", (eid,)
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])


async def test_sigkill_with_a_running_child_then_resume_the_parent(
    home: Path, test_env: dict[str, str]
) -> None:
    setup = create_conductor("direct", home=home, plugins=False)
    await setup.save_blueprint(
        Blueprint(
            id="inner",
            nodes=[
                NodeSpec(id="c1", type="python.function", params={"function": fn("record")}),
                NodeSpec(
                    id="c2", type="python.function", params={"function": fn("block_while_file")}
                ),
                NodeSpec(id="c3", type="python.function", params={"function": fn("record")}),
            ],
        )
    )
    await setup.save_blueprint(
        Blueprint(
            id="outer",
            nodes=[
                NodeSpec(id="n1", type="python.function", params={"function": fn("record")}),
                NodeSpec(id="call", type="blueprint.call", params={"blueprint_id": "inner"}),
                NodeSpec(id="n3", type="python.function", params={"function": fn("record")}),
            ],
        )
    )
    await setup.close()
    Path(test_env["block"]).touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        text=True,
    )
    db = home / "conductor.db"
    try:
        assert proc.stdout is not None
        eid = proc.stdout.readline().strip()
        wait_for(lambda: child_of(db, eid) is not None)
        child = child_of(db, eid)
        assert child is not None
        wait_for(lambda: node_started(db, child, "c2"))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    Path(test_env["block"]).unlink()

    c = create_conductor("direct", home=home, plugins=False)
    try:
        assert (await c.get_execution(eid)).status is ExecutionStatus.INTERRUPTED
        killed = await c.get_execution(child)
        assert killed.status is ExecutionStatus.INTERRUPTED
        assert killed.nodes["c1"].status is NodeStatus.COMPLETED

        result = await c.resume(eid)
        assert result.success, result.error
        assert result.outputs == {"step": 4}
        links = await c.subflows.execution_links(eid)
        assert [k.execution_id for k in links.children] == [child]  # the same child
        done = await c.get_execution(child)
        assert done.status is ExecutionStatus.COMPLETED
        assert done.outputs == {"step": 3}
        # n1 and c1 ran once; c2 recorded only after it was unblocked.
        assert Path(test_env["log"]).read_text().split() == ["1", "1", "2", "3", "4"]
        events = [e async for e in c.events(child)]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
    finally:
        await c.close()


LOOPER = r"""
import asyncio, sys
from app import create_conductor

async def main() -> None:
    c = create_conductor("direct", home=sys.argv[1], plugins=False)
    eid = await c.start(blueprint_id="looper", inputs={"items": list(range(10_000))})
    print(eid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def recorded_iterations(db: Path, eid: str) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT idx FROM loop_iterations WHERE execution_id = ? AND status = 'completed'",
            (eid,),
        ).fetchall()
    finally:
        conn.close()
    return {int(idx) for (idx,) in rows}


async def test_sigkill_mid_loop_then_resume_reruns_only_unrecorded_iterations(
    home: Path, test_env: dict[str, str]
) -> None:
    blueprints = home / "blueprints"
    blueprints.mkdir(exist_ok=True)
    body = {
        "id": "body",
        "inputs": {"item": {"type": "any"}, "index": {"type": "integer"}},
        "nodes": [{"id": "s", "type": "python.function", "params": {"function": fn("loop_item")}}],
    }
    looper = {
        "id": "looper",
        "inputs": {"items": {"type": "array"}},
        "nodes": [
            {
                "id": "each",
                "type": "loop",
                "params": {"items": "{{ inputs.items }}", "body": "body"},
            }
        ],
    }
    (blueprints / "body.json").write_text(json.dumps(body))
    (blueprints / "looper.json").write_text(json.dumps(looper))
    Path(test_env["block"]).write_text("6000")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", LOOPER, str(home)], stdout=subprocess.PIPE, env=env, text=True
    )
    db = home / "conductor.db"
    try:
        assert proc.stdout is not None
        eid = proc.stdout.readline().strip()
        wait_for(lambda: len(recorded_iterations(db, eid)) >= 5000, timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    Path(test_env["block"]).unlink()
    before = recorded_iterations(db, eid)
    assert before and max(before) < 6000

    c = create_conductor("direct", home=home, plugins=False)
    try:
        result = await c.resume(eid)
        assert result.success, result.error
        assert result.outputs == [i * 2 for i in range(10_000)]
        runs = Counter(int(line) for line in Path(test_env["log"]).read_text().split())
        assert all(runs[i] == 1 for i in before)  # recorded before the kill: not re-run
        assert all(1 <= runs[i] <= 2 for i in range(10_000))
        assert sum(runs.values()) - 10_000 <= 6001 - len(before)
        links = await c.subflows.execution_links(eid)
        assert links.loops["each"].completed == 10_000
    finally:
        await c.close()
