"""Orphans left: a node's processes after ``kill -9`` of its engine, and after its timeout.

Shared by ``bench/reliability.py`` (its ``orphans`` section) and
``tests/reliability/test_orphan_trial.py``. Real parts: ``conductor run`` in a
subprocess running a ``shell.command`` node that starts a child (plain, or in a
session of its own with ``setsid``) and records the pids; the run is killed with
SIGKILL once they run, and every recorded process must be gone within
:data:`GRACE` seconds. The timeout case runs in a real engine in this process: a
node with ``timeout: 1`` whose shell leaves a ``setsid`` grandchild. Whatever
survives is counted, then killed, so a trial never leaves a process behind itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from main_process.engine.engine import Engine

ROOT = Path(__file__).resolve().parents[2]

#: Seconds a killed engine's processes have to die before they count as orphans.
GRACE = 10.0
#: How long a node's shell has to start and record its pids.
START = 30.0


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def read_pids(path: Path) -> list[int]:
    try:
        return [int(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []


def shell_blueprint(script: str, timeout: float | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": "sh",
        "type": "shell.command",
        "params": {"argv": ["sh", "-c", script]},
    }
    if timeout is not None:
        node["timeout"] = timeout
    return {"id": "orphans", "nodes": [node]}


async def _until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _survivors(pids: list[int]) -> tuple[list[int], float]:
    """The pids still alive after :data:`GRACE` seconds (then killed), and how long
    the others took to go."""
    began = time.monotonic()
    await _until(lambda: not any(alive(p) for p in pids), GRACE)
    left = [p for p in pids if alive(p)]
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left, time.monotonic() - began


async def kill_9_trial(workdir: Path, grandchild: str) -> dict[str, Any]:
    """``kill -9`` of ``conductor run`` while its shell node runs ``grandchild``."""
    pids = workdir / "pids"
    blueprint = workdir / "bp.json"
    blueprint.write_text(json.dumps(shell_blueprint(f"{grandchild} & echo $$ $! > {pids}; wait")))
    env = {**os.environ, "CONDUCTOR_HOME": str(workdir / "home"), "PYTHONPATH": str(ROOT)}
    env.pop("CONDUCTOR_API_URL", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "app", "run", str(blueprint)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not await _until(lambda: len(read_pids(pids)) == 2, START):
            return {"started": 0, "left": [], "cleanup_s": 0.0, "problem": "node never started"}
        found = read_pids(pids)
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        left, took = await _survivors(found)
        return {"started": len(found), "left": left, "cleanup_s": took}
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)


async def timeout_trial(workdir: Path) -> dict[str, Any]:
    """A node past its timeout whose shell left a ``setsid`` grandchild."""
    pids = workdir / "pids"
    script = f"setsid sleep 300 & echo $$ $! > {pids}; wait"
    engine = Engine(workdir / "home", base_dir=workdir, plugins=False)
    try:
        result = await engine.execute(blueprint=shell_blueprint(script, timeout=1.0))
    finally:
        await engine.close()
    found = read_pids(pids)
    left, took = await _survivors(found)
    problem = None if result.status.value == "failed" else f"ended {result.status.value}"
    return {"started": len(found), "left": left, "cleanup_s": took, "problem": problem}


async def orphan_trial(repeats: int = 2) -> dict[str, Any]:
    """Every case ``repeats`` times; ``orphans_left`` must be 0."""
    if not Path("/proc").is_dir():
        return {"skipped": "needs Linux /proc"}
    runs: dict[str, list[dict[str, Any]]] = {
        "kill_9": [],
        "kill_9_setsid": [],
        "timeout_setsid": [],
    }
    with tempfile.TemporaryDirectory(prefix="conductor-orphans-") as tmp:
        for i in range(repeats):
            for name, grandchild in (
                ("kill_9", "sleep 300"),
                ("kill_9_setsid", "setsid sleep 300"),
            ):
                folder = Path(tmp) / f"{name}-{i}"
                folder.mkdir()
                runs[name].append(await kill_9_trial(folder, grandchild))
            folder = Path(tmp) / f"timeout-{i}"
            folder.mkdir()
            runs["timeout_setsid"].append(await timeout_trial(folder))
    every = [run for trials in runs.values() for run in trials]
    return {
        "trials": len(every),
        "processes_watched": sum(run["started"] for run in every),
        "orphans_left": sum(len(run["left"]) for run in every),
        "orphans_by_case": {
            name: sum(len(r["left"]) for r in trials) for name, trials in runs.items()
        },
        "slowest_cleanup_s": round(max((run["cleanup_s"] for run in every), default=0.0), 2),
        "problems": [run["problem"] for run in every if run.get("problem")],
    }
