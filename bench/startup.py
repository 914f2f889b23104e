"""Start-up benchmarks: whole processes as a ratio to a bare ``python -c pass``.

    python bench/startup.py [--json] [--quick]

* ``cli_run_w1``: ``conductor run w1.json --json`` (``python -m app``) of a 10-node
  blueprint (W1 as a file: ``json.transform`` nodes, each adding one key), from
  process start to exit, with a fresh data dir each time;
* ``worker``: the pipe worker from spawn (``multiprocessing`` ``spawn``) until its
  hello arrives, as the GUI meets it.

Each is measured alternately with ``python -c pass`` in the same run (after one
warm-up of each, so the page cache and bytecode are warm); medians are reported
with the ratio (target <= 5x each). ``CONDUCTOR_BENCH_SRC`` (with ``PYTHONPATH``)
points the bench at another checkout, to compare with the previous main.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("CONDUCTOR_BENCH_SRC") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from ipc.client import IpcTransport  # noqa: E402

PASS = [sys.executable, "-c", "pass"]


def w1_file(folder: Path) -> Path:
    nodes = [
        {
            "id": f"n{i}",
            "type": "json.transform",
            "params": {"expression": f'merge(@, `{{"n{i}": true}}`)'},
        }
        for i in range(10)
    ]
    path = folder / "w1.json"
    path.write_text(json.dumps({"id": "w1", "nodes": nodes}))
    return path


def timed_process(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {done.stderr.decode()[-2000:]}")
    return elapsed


def summary(ours: list[float], theirs: list[float]) -> dict[str, float]:
    c, b = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    return {"conductor_ms": round(c, 1), "python_pass_ms": round(b, 1), "ratio": round(c / b, 2)}


def cli_run(folder: Path, runs: int) -> dict[str, float]:
    path = w1_file(folder)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "app", "run", str(path), "--json"]
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(runs + 1):
        env["CONDUCTOR_HOME"] = str(folder / f"home-{i}")
        elapsed = timed_process(cmd, env)
        base = timed_process(PASS, env)
        if i:  # the first run warms the page cache and compiles bytecode
            ours.append(elapsed)
            theirs.append(base)
    return summary(ours, theirs)


async def worker(folder: Path, runs: int) -> dict[str, float]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(runs + 1):
        transport = IpcTransport(folder / f"worker-{i}", plugins=False)
        start = time.perf_counter()
        await transport.process.ready()
        elapsed = time.perf_counter() - start
        await transport.close()
        base = timed_process(PASS, env)
        if i:
            ours.append(elapsed)
            theirs.append(base)
    return summary(ours, theirs)


def run_all(quick: bool) -> dict[str, Any]:
    runs = 5 if quick else 15
    folder = Path(tempfile.mkdtemp(prefix="conductor-startup-"))
    return {
        "cli_run_w1": cli_run(folder, runs),
        "worker": asyncio.run(worker(folder, runs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    results = run_all(args.quick)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"{name:12} " + "  ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
