"""Engine benchmarks: each workload against a hand-written asyncio baseline, same process.

    python bench/engine.py [--json] [--quick]

For every workload, Conductor and its baseline run alternately (after warm-up
runs), and the medians are reported with their ratio. The engine runs with its
default store on (a SQLite file in a temporary data dir), so every node's
output and every event is recorded, and each result is durable before it is
returned. Peak memory (W5) is measured with tracemalloc in separate runs, so it
does not slow the timed ones.

W1  chain of 10 trivial nodes, each adding one key to a dict
W2  the same with 100 nodes
W3  one node fanning out to 50 nodes that each sleep 10 ms, then a merge summing their indices
W4  3-node chain whose node 2 raises: time until the failure is reported (node 3 never runs)
W5  100,000 items {id, value, name} produced -> mapped (add "double") -> summed
W6  a local HTTP server's 1,000 JSON objects -> json.transform -> sqlite.write (built-in nodes)
Also: per-node cost of a 10,000-node chain against a 100-node chain (constant-size
outputs), and `conductor run` of the W1 blueprint as a whole process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import Blueprint, Conductor, EdgeSpec, NodeSpec, create_conductor, create_simple_node  # noqa: E402

Timed = Callable[[], Awaitable[Any]]


async def measure(
    conductor_fn: Timed, baseline_fn: Timed, runs: int, warmup: int = 3
) -> dict[str, float]:
    """Medians of alternating runs, in milliseconds.

    As ``timeit`` does, the cyclic garbage collector is off while timing (after
    one collection), so neither side pays for the other's garbage.
    """
    for _ in range(warmup):
        await conductor_fn()
        await baseline_fn()
    ours: list[float] = []
    theirs: list[float] = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            await conductor_fn()
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            await baseline_fn()
            theirs.append(time.perf_counter() - start)
    finally:
        gc.enable()
    c, b = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
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


# -- W1, W2, chains ----------------------------------------------------------------


async def add_key(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    value[ctx.node_id] = True
    return value


def chain_blueprint(n: int) -> Blueprint:
    return Blueprint(
        id=f"chain-{n}", nodes=[create_simple_node(f"n{i}", "add_key", add_key) for i in range(n)]
    )


async def baseline_chain(n: int) -> dict[str, Any]:
    async def step(value: dict[str, Any], key: str) -> dict[str, Any]:
        value[key] = True
        return value

    value: dict[str, Any] = {}
    for i in range(n):
        value = await step(value, f"n{i}")
    return value


async def next_step(value: dict[str, Any]) -> dict[str, Any]:
    return {"step": value.get("step", 0) + 1}


def const_chain(n: int) -> Blueprint:
    return Blueprint(
        id=f"const-{n}", nodes=[create_simple_node(f"n{i}", "step", next_step) for i in range(n)]
    )


# -- W3 -------------------------------------------------------------------------


def fan_blueprint(width: int, seconds: float) -> Blueprint:
    async def start(value: Any) -> int:
        return 0

    def sleeper(index: int) -> Callable[[Any], Awaitable[int]]:
        async def work(value: Any) -> int:
            await asyncio.sleep(seconds)
            return index

        return work

    async def total(value: dict[str, int]) -> int:
        return sum(value.values())

    nodes = [create_simple_node("start", "start", start)]
    nodes += [create_simple_node(f"s{i}", "sleep", sleeper(i)) for i in range(width)]
    nodes.append(create_simple_node("sum", "sum", total))
    edges = [EdgeSpec(source="start", target=f"s{i}") for i in range(width)]
    edges += [EdgeSpec(source=f"s{i}", target="sum") for i in range(width)]
    return Blueprint(id="fan", nodes=nodes, edges=edges)


async def baseline_fan(width: int, seconds: float) -> int:
    async def work(index: int) -> int:
        await asyncio.sleep(seconds)
        return index

    results = await asyncio.gather(*(work(i) for i in range(width)))
    return sum(results)


# -- W4 -------------------------------------------------------------------------


async def ok_step(value: Any) -> dict[str, int]:
    return {"ok": 1}


async def failing_step(value: Any) -> None:
    raise ValueError("node 2 fails")


async def never_step(value: Any) -> None:
    raise AssertionError("node 3 must not run")


def failing_blueprint() -> Blueprint:
    return Blueprint(
        id="fails",
        nodes=[
            create_simple_node("one", "ok", ok_step),
            create_simple_node("two", "fail", failing_step),
            create_simple_node("three", "never", never_step),
        ],
    )


async def baseline_failing() -> str:
    try:
        value = await ok_step({})
        await failing_step(value)
        await never_step(value)
    except ValueError as exc:
        return str(exc)
    return "no failure"


# -- W5 -------------------------------------------------------------------------

ITEMS = 100_000


def produce(value: Any) -> list[dict[str, Any]]:
    return [{"id": i, "value": i % 100, "name": f"item-{i}"} for i in range(ITEMS)]


def double(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "double": item["value"] * 2} for item in items]


def total(items: list[dict[str, Any]]) -> int:
    return sum(item["double"] for item in items)


def items_blueprint() -> Blueprint:
    async def a_produce(value: Any) -> list[dict[str, Any]]:
        return produce(value)

    async def a_double(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return double(items)

    async def a_total(items: list[dict[str, Any]]) -> int:
        return total(items)

    return Blueprint(
        id="items",
        nodes=[
            create_simple_node("produce", "produce", a_produce),
            create_simple_node("map", "double", a_double),
            create_simple_node("sum", "sum", a_total),
        ],
    )


async def baseline_items() -> int:
    async def a_produce() -> list[dict[str, Any]]:
        return produce(None)

    async def a_double(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return double(items)

    async def a_total(items: list[dict[str, Any]]) -> int:
        return total(items)

    return await a_total(await a_double(await a_produce()))


# -- W6 -------------------------------------------------------------------------


class _Items(BaseHTTPRequestHandler):
    body = json.dumps(
        [{"id": i, "name": f"item {i}", "price": (i % 7) - 1} for i in range(1000)]
    ).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def http_blueprint(url: str, database: str) -> Blueprint:
    return Blueprint(
        id="http-sql",
        nodes=[
            NodeSpec(id="fetch", type="http.request", params={"url": url}),
            NodeSpec(id="keep", type="json.transform", params={"expression": "[?price > `0`]"}),
            NodeSpec(
                id="save",
                type="sqlite.write",
                params={"database": database, "table": "items", "mode": "replace"},
            ),
        ],
    )


async def baseline_http(url: str, database: str) -> int:
    import httpx
    import jmespath

    async with httpx.AsyncClient() as client:
        response = await client.get(url)
        response.raise_for_status()
        data = response.json()
    rows = jmespath.search("[?price > `0`]", data)

    def write() -> int:
        conn = sqlite3.connect(database)
        try:
            with conn:
                conn.execute(
                    'CREATE TABLE IF NOT EXISTS "items"'
                    ' ("id" INTEGER, "name" TEXT, "price" INTEGER)'
                )
                conn.executemany(
                    'INSERT OR REPLACE INTO "items" ("id", "name", "price") VALUES (?, ?, ?)',
                    [(r["id"], r["name"], r["price"]) for r in rows],
                )
        finally:
            conn.close()
        return len(rows)

    return await asyncio.to_thread(write)


# -- whole-process start-up ------------------------------------------------------------


def cli_run_ms(folder: Path, runs: int) -> dict[str, float]:
    """``conductor run`` of a 10-node blueprint file, as a whole process, vs ``python -c pass``."""
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
    env_home = folder / "cli-home"
    env = {"CONDUCTOR_HOME": str(env_home), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "app", "run", str(path), "--json"]
    base = [sys.executable, "-c", "pass"]
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"conductor run failed: {done.stderr.decode()[-2000:]}")
        start = time.perf_counter()
        subprocess.run(base, env=env, check=True)
        if i:  # the first run warms the page cache and compiles bytecode
            ours.append(elapsed)
            theirs.append(time.perf_counter() - start)
    c, b = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    return {"conductor_ms": round(c, 1), "python_startup_ms": round(b, 1)}


async def run_all(quick: bool) -> dict[str, Any]:
    runs = 7 if quick else 21
    folder = Path(tempfile.mkdtemp(prefix="conductor-bench-"))
    c: Conductor = create_conductor("direct", home=folder / "home", base_dir=folder, plugins=False)
    results: dict[str, Any] = {}
    try:
        w1, w2 = chain_blueprint(10), chain_blueprint(100)
        results["W1"] = await measure(
            lambda: c.execute(blueprint=w1), lambda: baseline_chain(10), runs
        )
        results["W2"] = await measure(
            lambda: c.execute(blueprint=w2), lambda: baseline_chain(100), runs
        )
        results["W2"]["per_node_us"] = round(results["W2"]["conductor_ms"] * 10, 1)

        fan = fan_blueprint(50, 0.010)
        results["W3"] = await measure(
            lambda: c.execute(blueprint=fan), lambda: baseline_fan(50, 0.010), runs
        )

        fail = failing_blueprint()

        async def conductor_failing() -> None:
            result = await c.execute(blueprint=fail)
            assert result.error is not None and result.error.node_id == "two"

        results["W4"] = await measure(conductor_failing, baseline_failing, runs)

        items = items_blueprint()

        async def conductor_items() -> None:
            result = await c.execute(blueprint=items)
            assert result.outputs == 9_900_000

        results["W5"] = await measure(conductor_items, baseline_items, max(5, runs // 3), warmup=1)
        results["W5"]["conductor_peak_mb"] = await peak_mb(conductor_items)
        results["W5"]["baseline_peak_mb"] = await peak_mb(baseline_items)
        results["W5"]["peak_ratio"] = round(
            results["W5"]["conductor_peak_mb"] / results["W5"]["baseline_peak_mb"], 2
        )

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Items)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/items"
            db_ours, db_theirs = str(folder / "w6-ours.db"), str(folder / "w6-base.db")
            w6 = http_blueprint(url, db_ours)

            async def conductor_http() -> None:
                result = await c.execute(blueprint=w6)
                assert result.success, result.error

            results["W6"] = await measure(
                conductor_http, lambda: baseline_http(url, db_theirs), runs
            )
        finally:
            server.shutdown()
            server.server_close()

        small, big = const_chain(100), const_chain(1000 if quick else 10_000)
        chain = await measure(
            lambda: c.execute(blueprint=big),
            lambda: c.execute(blueprint=small),
            3 if quick else 5,
            warmup=1,
        )
        n_big = len(big.nodes)
        results["chain_scaling"] = {
            "nodes": n_big,
            "per_node_us_100": round(chain["baseline_ms"] * 1000 / 100, 1),
            f"per_node_us_{n_big}": round(chain["conductor_ms"] * 1000 / n_big, 1),
            "ratio": round((chain["conductor_ms"] / n_big) / (chain["baseline_ms"] / 100), 2),
        }
    finally:
        await c.close()
    results["cli_run_w1"] = cli_run_ms(folder, 3 if quick else 7)
    return results


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
