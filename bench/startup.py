"""Start-up benchmarks: whole processes as a ratio to a bare ``python -c pass``.

    python bench/startup.py [--json] [--quick]

* ``cli_run_w1``: ``conductor run w1.json --json`` (``python -m app``) of a 10-node
  blueprint (W1 as a file: ``json.transform`` nodes, each adding one key), from
  process start to exit, with a fresh data dir each time;
* ``worker``: the pipe worker from spawn (``multiprocessing`` ``spawn``) until its
  hello arrives, as the GUI meets it.

Each is measured alternately with ``python -c pass`` in the same run (after one
warm-up of each, so the page cache and bytecode are warm); medians are reported
with the ratio (target <= 5x each). ``cli_run_w1`` also reports
``dependencies_ms``: a process that only imports what any run needs from outside
Conductor (asyncio, sqlite3, click, pydantic's ``BaseModel``), timed in the same
loop — the part of the figure that lazy imports of our own code cannot remove.
``CONDUCTOR_BENCH_SRC`` (with ``PYTHONPATH``) points the bench at another checkout;
``--baseline DIR`` runs that checkout's ``conductor run`` and worker in the same
loop (conductor, baseline, python, in turn), so a shared, loaded machine slows all
three alike.
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
DEPENDENCIES = [
    sys.executable,
    "-c",
    "import asyncio, sqlite3, click; from pydantic import BaseModel",
]


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


def timed_process(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {done.stderr.decode()[-2000:]}")
    return elapsed


def summary(ours: list[float], theirs: list[float]) -> dict[str, float]:
    c, b = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    return {"conductor_ms": round(c, 1), "python_pass_ms": round(b, 1), "ratio": round(c / b, 2)}


def with_baseline(
    figures: dict[str, float], ours: list[float], base: list[float]
) -> dict[str, float]:
    if base:
        b = statistics.median(base) * 1000
        figures["baseline_ms"] = round(b, 1)
        figures["baseline_ratio"] = round(b / figures["python_pass_ms"], 2)
    return figures


def cli_run(folder: Path, runs: int, baseline: Path | None) -> dict[str, float]:
    path = w1_file(folder)
    cmd = [sys.executable, "-m", "app", "run", str(path), "--json"]
    checkouts = [ROOT] if baseline is None else [ROOT, baseline]
    times: dict[Path, list[float]] = {src: [] for src in checkouts}
    theirs: list[float] = []
    floor: list[float] = []
    for i in range(runs + 1):
        for src in checkouts:
            env = {
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": str(src),
                "CONDUCTOR_HOME": str(folder / f"home-{src.name}-{i}"),
            }
            elapsed = timed_process(cmd, env, cwd=src)
            if i:  # the first run warms the page cache and compiles bytecode
                times[src].append(elapsed)
        base = timed_process(PASS, {"PATH": "/usr/bin:/bin"})
        deps = timed_process(DEPENDENCIES, {"PATH": "/usr/bin:/bin"})
        if i:
            theirs.append(base)
            floor.append(deps)
    figures = summary(times[ROOT], theirs)
    figures["dependencies_ms"] = round(statistics.median(floor) * 1000, 1)
    figures["dependencies_ratio"] = round(figures["dependencies_ms"] / figures["python_pass_ms"], 2)
    return with_baseline(figures, times[ROOT], times[baseline] if baseline else [])


def worker_ready(src: Path, home: Path) -> float:
    """Spawn to hello of ``src``'s worker, timed inside a small driver process
    (so a baseline checkout's own ``ipc`` package is the one that spawns it)."""
    code = (
        "import asyncio, sys, time\n"
        "from ipc.client import IpcTransport\n"
        "async def main():\n"
        f"    t = IpcTransport({str(home)!r}, plugins=False)\n"
        "    start = time.perf_counter()\n"
        "    await t.process.ready()\n"
        "    print(time.perf_counter() - start)\n"
        "    await t.close()\n"
        "asyncio.run(main())\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=src, env=env, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker of {src} failed: {done.stderr.decode()[-2000:]}")
    return float(done.stdout.decode().split()[-1])


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


def worker_vs_baseline(folder: Path, runs: int, baseline: Path) -> dict[str, float]:
    ours: list[float] = []
    base_times: list[float] = []
    theirs: list[float] = []
    for i in range(runs + 1):
        mine = worker_ready(ROOT, folder / f"w-ours-{i}")
        other = worker_ready(baseline, folder / f"w-base-{i}")
        base = timed_process(PASS, {"PATH": "/usr/bin:/bin"})
        if i:
            ours.append(mine)
            base_times.append(other)
            theirs.append(base)
    return with_baseline(summary(ours, theirs), ours, base_times)


def run_all(quick: bool, baseline: Path | None = None, runs: int | None = None) -> dict[str, Any]:
    runs = runs or (5 if quick else 15)
    folder = Path(tempfile.mkdtemp(prefix="conductor-startup-"))
    return {
        "cli_run_w1": cli_run(folder, runs, baseline),
        "worker": (
            asyncio.run(worker(folder, runs))
            if baseline is None
            else worker_vs_baseline(folder, runs, baseline)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout, measured in turn with this one"
    )
    parser.add_argument("--runs", type=int, help="runs of each (default 15, 5 with --quick)")
    args = parser.parse_args()
    results = run_all(args.quick, args.baseline.resolve() if args.baseline else None, args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"{name:12} " + "  ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
