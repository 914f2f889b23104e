"""``runner: dask`` figures (issue 14): a CPU-bound map on a 2-worker LocalCluster.

    python bench/scale_dask.py [--json] [--items N] [--item-ms MS] [--latency-runs K]

* ``map``: one ``python.function`` node with ``per_item: true`` over N items (default
  10,000), each ~``--item-ms`` (10) ms of pure-Python work (:func:`spin`, a step count
  measured here first), on
  ``runner: thread`` (one thread), ``runner: process`` (one worker process) and
  ``runner: dask`` (a ``distributed.LocalCluster(processes=True, n_workers=2,
  threads_per_worker=1)`` started here): seconds each, and the speed-ups. On this
  2-core machine Dask can at best halve the time.
* ``per_item_overhead_ms``: the same map on Dask with items that do no work, per item
  (JSON both ways, one task per batch of up to 100 items); target <= 1 ms.
* ``latency``: a one-node blueprint on ``runner: dask`` against ``runner: process``,
  alternating, the median of K each; ``added_ms`` is the difference (target <= 5 ms).
  Runs are ``--gap`` (30 ms) apart, as single runs meet the cluster; back to back,
  Dask's client batches its messages 10 ms apart and each run pays up to that again
  (``added_back_to_back_ms``).

Figures move with the machine's load: the report carries ``os.getloadavg()``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The Dask workers import this module (``bench.scale_dask:spin``) and Conductor by name.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


def spin(n: int) -> int:
    """``n`` steps of pure-Python work (holds the GIL throughout): a fixed amount of
    work, not a fixed time, so CPU shared with other processes shows in the figures."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def steps_for(ms: float) -> int:
    """How many :func:`spin` steps take ``ms`` milliseconds here (best of five)."""
    probe = 200_000
    best = min(_timed_spin(probe) for _ in range(5))
    return max(1, round(probe * ms / 1000.0 / best))


def _timed_spin(n: int) -> float:
    started = time.perf_counter()
    spin(n)
    return time.perf_counter() - started


def nothing(value: Any) -> Any:
    """The latency probe's node: no work, its input back."""
    return value


def _map_blueprint(runner: str, items: list[int]) -> dict[str, Any]:
    return {
        "id": f"scale-dask-map-{runner}",
        "nodes": [
            {"id": "items", "type": "set", "params": {"value": items}},
            {
                "id": "map",
                "type": "python.function",
                "runner": runner,
                "params": {"function": "bench.scale_dask:spin", "per_item": True},
            },
        ],
    }


def _one_node(runner: str) -> dict[str, Any]:
    return {
        "id": f"scale-dask-one-{runner}",
        "nodes": [
            {
                "id": "one",
                "type": "python.function",
                "runner": runner,
                "params": {"function": "bench.scale_dask:nothing"},
            }
        ],
    }


async def _timed(conductor: Any, blueprint: dict[str, Any], inputs: dict[str, Any]) -> float:
    started = time.perf_counter()
    result = await conductor.execute(blueprint=blueprint, inputs=inputs)
    elapsed = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"{blueprint['id']} failed: {result.error}")
    return elapsed


async def _measure(
    address: str, n_items: int, item_ms: float, runs: int, gap: float
) -> dict[str, Any]:
    from app.api import create_conductor

    home = tempfile.mkdtemp(prefix="scale-dask-")
    conductor = create_conductor("direct", home=home, plugins=False, dask_scheduler=address)
    report: dict[str, Any] = {"items": n_items, "item_ms": item_ms}
    try:
        # Warm every runner (worker process start-up, the client's connection, imports).
        for runner in ("thread", "process", "dask"):
            await _timed(conductor, _map_blueprint(runner, [0] * 10), {})
        steps = steps_for(item_ms)
        report["steps_per_item"] = steps
        items = [steps] * n_items
        seconds = {}
        for runner in ("dask", "thread", "process"):
            seconds[runner] = await _timed(conductor, _map_blueprint(runner, items), {})
        ideal = seconds["thread"] / 2  # two workers, nothing but the work
        report["map_seconds"] = {k: round(v, 2) for k, v in seconds.items()}
        report["speedup_vs_thread"] = round(seconds["thread"] / seconds["dask"], 2)
        report["speedup_vs_process"] = round(seconds["process"] / seconds["dask"], 2)
        # What Dask adds per item over the thread run's work split across two workers.
        report["dask_over_half_thread_ms_per_item"] = round(
            (seconds["dask"] - ideal) * 1000 / n_items, 3
        )
        empty = await _timed(conductor, _map_blueprint("dask", [0] * n_items), {})
        report["per_item_overhead_ms"] = round(empty * 1000 / n_items, 4)
        report["latency"] = await _latency(conductor, address, runs, gap)
    finally:
        await conductor.close()
    return report


async def _latency(conductor: Any, address: str, runs: int, gap: float) -> dict[str, float]:
    times: dict[str, list[float]] = {"process": [], "dask": [], "dask_b2b": [], "process_b2b": []}
    for runner in ("process", "dask"):
        await _timed(conductor, _one_node(runner), {})
    for _ in range(runs):
        for runner in ("process", "dask"):
            await asyncio.sleep(gap)
            times[runner].append(await _timed(conductor, _one_node(runner), {}))
    for _ in range(runs):
        for runner in ("process", "dask"):
            times[f"{runner}_b2b"].append(await _timed(conductor, _one_node(runner), {}))
    times["raw"] = await _raw_round_trips(address, runs, gap)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    return {
        "process_ms": round(med["process"], 2),
        "dask_ms": round(med["dask"], 2),
        "added_ms": round(med["dask"] - med["process"], 2),
        "added_back_to_back_ms": round(med["dask_b2b"] - med["process_b2b"], 2),
        # Dask's own floor: submit + result of a no-op task on a plain client.
        "raw_dask_round_trip_ms": round(med["raw"], 2),
    }


async def _raw_round_trips(address: str, runs: int, gap: float) -> list[float]:
    from distributed import Client

    async with Client(address, asynchronous=True, set_as_default=False) as client:
        await client.submit(nothing, 0, pure=False)
        times = []
        for _ in range(runs):
            await asyncio.sleep(gap)
            started = time.perf_counter()
            await client.submit(nothing, 0, pure=False)
            times.append(time.perf_counter() - started)
    return times


def run(
    items: int = 10_000, item_ms: float = 10.0, latency_runs: int = 50, gap: float = 0.03
) -> dict[str, Any]:
    """Start a 2-worker LocalCluster, measure, stop it; the figures."""
    from distributed import LocalCluster

    load_before = os.getloadavg()[0]
    with LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        report = asyncio.run(_measure(cluster.scheduler_address, items, item_ms, latency_runs, gap))
    report["load_before"] = round(load_before, 2)
    report["load_after"] = round(os.getloadavg()[0], 2)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--items", type=int, default=10_000, help="items in the map")
    parser.add_argument("--item-ms", type=float, default=10.0, help="work per item, ms")
    parser.add_argument("--latency-runs", type=int, default=50, help="runs per runner")
    parser.add_argument("--gap", type=float, default=0.03, help="seconds between runs")
    args = parser.parse_args()
    report = run(args.items, args.item_ms, args.latency_runs, args.gap)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
