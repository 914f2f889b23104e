"""No orphans: a node's processes die with its timeout, and with its engine under kill -9.

Seen on an earlier main: after ``kill -9`` of ``conductor run``, a ``shell.command``
child kept running (a resume would start a second copy); a ``setsid`` grandchild
survived a node timeout, holding the node's output pipe open.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.states import ExecutionStatus
from main_process.engine.engine import Engine
from tests.reliability.orphan_trial import alive, read_pids, shell_blueprint

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")

REPO = Path(__file__).resolve().parents[3]


async def wait_for(condition: object, what: str, timeout: float = 10.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_setsid_grandchild_dies_at_the_node_timeout(engine: Engine, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"setsid sleep 300 & echo $$ $! > {pids}; wait"
    started = time.monotonic()
    result = await engine.execute(blueprint=shell_blueprint(script, timeout=1.0))
    assert result.status is ExecutionStatus.FAILED
    assert time.monotonic() - started < 5  # the grandchild's open pipe did not hold the node
    found = read_pids(pids)
    assert len(found) == 2
    await wait_for(lambda: not any(alive(p) for p in found), "the shell and its setsid child")


@pytest.mark.parametrize("grandchild", ["sleep 300", "setsid sleep 300"])
async def test_kill_9_of_conductor_run_takes_its_children_along(
    tmp_path: Path, grandchild: str
) -> None:
    pids = tmp_path / "pids"
    blueprint = tmp_path / "bp.json"
    script = f"{grandchild} & echo $$ $! > {pids}; wait"
    blueprint.write_text(json.dumps(shell_blueprint(script)))
    env = {**os.environ, "CONDUCTOR_HOME": str(tmp_path / "home")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    run = subprocess.Popen(
        [sys.executable, "-m", "app", "run", str(blueprint)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for(lambda: len(read_pids(pids)) == 2, "the node's shell to start", 30)
        found = read_pids(pids)
        assert all(alive(p) for p in found)
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        await wait_for(lambda: not any(alive(p) for p in found), "the node's processes to die")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
        for pid in read_pids(pids):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
