"""Engine benchmarks: each workload against a hand-written baseline, same process.

    python bench/engine.py [--json] [--quick]

To measure another checkout's code with this bench (the previous main, in the same
sitting), set ``CONDUCTOR_BENCH_SRC`` to its root and ``PYTHONPATH`` with it.

Figures are measured **the way a user meets them**: one conductor created once,
``gc.collect()`` before each timed execution (not timed), the garbage collector on
while timing, and the default store on (a SQLite file in a temporary data dir:
every node's output and every event recorded, a node's completion committed before
the execution is reported finished). Conductor and its baseline run alternately
after warm-up runs; medians are reported with their ratio. ``W1_gc_off`` and
``W4_gc_off`` repeat W1/W4 as this bench used to (as ``timeit`` does: one collection,
then the collector off while timing), for comparison with older figures.

W1  chain of 10 trivial ``async def`` nodes, each adding one key to a dict
W2  the same with 100 nodes; ``W2_def`` the same with plain ``def`` nodes, as a
    ratio to W2 (target <= 2x)
W3  one node fanning out to 50 nodes that each sleep 10 ms, then a merge
W4  3-node chain whose node 2 raises: time until the failure is reported
W5  100,000 items {id, value, name} produced -> mapped (add "double") -> summed
W6  a local HTTP server's 1,000 JSON objects -> json.transform -> sqlite.write,
    against the better of two hand-written baselines (httpx with one client;
    blocking urllib + sqlite3)
sync_stall  the longest loop stall (a 1 ms timer's lateness) while a plain ``def``
    node blocks 200 ms: on its first run, on later runs, and after the same function
    ran fast many times (target <= 50 ms)
Also: per-node cost of a 10,000-node chain against a 100-node chain (GC off, as a
ratio of per-node costs). Start-up
(``conductor run`` as a whole process, the pipe worker) is in ``bench/startup.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("CONDUCTOR_BENCH_SRC") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

import engine_workloads as w  # noqa: E402

from app import Conductor, create_conductor  # noqa: E402

Timed = Callable[[], Awaitable[Any]]


async def medians(
    fns: dict[str, Timed], runs: int, warmup: int = 3, *, gc_on: bool = True
) -> dict[str, float]:
    """Median milliseconds of each function, run in turn ``runs`` times.

    ``gc_on``: a collection before each timed call, the collector on while timing
    (what a user's process does). Otherwise one collection and the collector off.
    """
    for _ in range(warmup):
        for fn in fns.values():
            await fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    gc.collect()
    if not gc_on:
        gc.disable()
    try:
        for _ in range(runs):
            for name, fn in fns.items():
                if gc_on:
                    gc.collect()
                start = time.perf_counter()
                await fn()
                times[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


async def measure(
    conductor_fn: Timed, baseline_fn: Timed, runs: int, warmup: int = 3, *, gc_on: bool = True
) -> dict[str, float]:
    m = await medians({"c": conductor_fn, "b": baseline_fn}, runs, warmup, gc_on=gc_on)
    c, b = m["c"], m["b"]
    return {"conductor_ms": round(c, 3), "baseline_ms": round(b, 3), "ratio": round(c / b, 2)}


async def peak_mb(fn: Timed) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        await fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 1e6, 2)


async def sync_stall(c: Conductor) -> dict[str, float]:
    """Loop stalls while plain ``def`` nodes block for 200 ms (see the module doc)."""
    blocking = w.single("blocks", w.blocks)
    first = await w.longest_stall_ms(lambda: c.execute(blueprint=blocking))
    later = max([await w.longest_stall_ms(lambda: c.execute(blueprint=blocking)) for _ in range(3)])
    sometimes = w.Sometimes()
    flaky = w.single("sometimes", sometimes)
    for _ in range(50):
        await c.execute(blueprint=flaky)
    sometimes.block = True
    after_fast = await w.longest_stall_ms(lambda: c.execute(blueprint=flaky))
    return {
        "first_run_ms": first,
        "later_runs_ms": later,
        "after_fast_runs_ms": after_fast,
        "blocking_ms": w.BLOCK_S * 1000,
    }


async def run_all(quick: bool) -> dict[str, Any]:
    runs = 7 if quick else 21
    folder = Path(tempfile.mkdtemp(prefix="conductor-bench-"))
    c: Conductor = create_conductor("direct", home=folder / "home", base_dir=folder, plugins=False)
    results: dict[str, Any] = {}
    try:
        w1, w2 = w.chain_blueprint(10), w.chain_blueprint(100)
        w2_def = w.chain_blueprint(100, plain=True)
        results["W1"] = await measure(
            lambda: c.execute(blueprint=w1), lambda: w.baseline_chain(10), runs
        )
        results["W1_gc_off"] = await measure(
            lambda: c.execute(blueprint=w1), lambda: w.baseline_chain(10), runs, gc_on=False
        )
        two = await medians(
            {
                "async": lambda: c.execute(blueprint=w2),
                "def": lambda: c.execute(blueprint=w2_def),
                "baseline": lambda: w.baseline_chain(100),
            },
            runs,
        )
        results["W2"] = {
            "conductor_ms": round(two["async"], 3),
            "baseline_ms": round(two["baseline"], 3),
            "ratio": round(two["async"] / two["baseline"], 2),
            "per_node_us": round(two["async"] * 10, 1),
        }
        results["W2_def"] = {
            "conductor_ms": round(two["def"], 3),
            "async_def_ms": round(two["async"], 3),
            "ratio": round(two["def"] / two["async"], 2),
            "per_node_us": round(two["def"] * 10, 1),
        }

        fan = w.fan_blueprint(50, 0.010)
        results["W3"] = await measure(
            lambda: c.execute(blueprint=fan), lambda: w.baseline_fan(50, 0.010), runs
        )

        fail = w.failing_blueprint()

        async def conductor_failing() -> None:
            result = await c.execute(blueprint=fail)
            assert result.error is not None and result.error.node_id == "two"

        results["W4"] = await measure(conductor_failing, w.baseline_failing, runs)
        results["W4_gc_off"] = await measure(
            conductor_failing, w.baseline_failing, runs, gc_on=False
        )

        items = w.items_blueprint()

        async def conductor_items() -> None:
            result = await c.execute(blueprint=items)
            assert result.outputs == 9_900_000

        results["W5"] = await measure(
            conductor_items, w.baseline_items, max(5, runs // 3), warmup=1
        )
        results["W5"]["conductor_peak_mb"] = await peak_mb(conductor_items)
        results["W5"]["baseline_peak_mb"] = await peak_mb(w.baseline_items)
        results["W5"]["peak_ratio"] = round(
            results["W5"]["conductor_peak_mb"] / results["W5"]["baseline_peak_mb"], 2
        )

        results["W6"] = await w6(c, folder, runs)
        results["sync_stall"] = await sync_stall(c)

        small, big = w.const_chain(100), w.const_chain(1000 if quick else 10_000)
        chain = await measure(
            lambda: c.execute(blueprint=big),
            lambda: c.execute(blueprint=small),
            3 if quick else 5,
            warmup=1,
            gc_on=False,  # a ratio of per-node costs: a collection of the big run's
        )  # garbage before the small run would make it the one measured cold
        n_big = len(big.nodes)
        results["chain_scaling"] = {
            "nodes": n_big,
            "per_node_us_100": round(chain["baseline_ms"] * 1000 / 100, 1),
            f"per_node_us_{n_big}": round(chain["conductor_ms"] * 1000 / n_big, 1),
            "ratio": round((chain["conductor_ms"] / n_big) / (chain["baseline_ms"] / 100), 2),
        }
    finally:
        await c.close()
    return results


async def w6(c: Conductor, folder: Path, runs: int) -> dict[str, float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), w.Items)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    httpx_baseline = w.HttpxBaseline()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/items"
        blueprint = w.http_blueprint(url, str(folder / "w6-ours.db"))
        db_httpx, db_urllib = str(folder / "w6-httpx.db"), str(folder / "w6-urllib.db")

        async def conductor_http() -> None:
            result = await c.execute(blueprint=blueprint)
            assert result.success, result.error

        m = await medians(
            {
                "c": conductor_http,
                "httpx": lambda: httpx_baseline(url, db_httpx),
                "urllib": lambda: w.baseline_urllib(url, db_urllib),
            },
            runs,
        )
    finally:
        await httpx_baseline.close()
        server.shutdown()
        server.server_close()
    best = min(m["httpx"], m["urllib"])
    return {
        "conductor_ms": round(m["c"], 3),
        "httpx_baseline_ms": round(m["httpx"], 3),
        "urllib_sqlite3_baseline_ms": round(m["urllib"], 3),
        "baseline_ms": round(best, 3),
        "ratio": round(m["c"] / best, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer runs (under a minute)")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"{name:14} " + "  ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
