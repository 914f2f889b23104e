"""Transport benchmarks: the same work over direct, ipc (a spawned worker) and http.

    python bench/transports.py [--json] [--quick]

* W1/W2: a 10- and a 100-node chain of built-in nodes (each adds a key with
  ``json.transform``), medians of alternating warm runs on each transport, and
  the time each transport adds over direct.
* Event throughput: one node logging 100,000 lines, followed to its terminal
  event through the pipe (``ipc``) and through Server-Sent Events (``http``);
  events/s from start to the last event received, direct as the baseline.
* Worker start-up: spawn until the worker's hello, against ``python -c pass``
  and ``python -c "import main_process.worker"`` (the import floor).
* Death detection: SIGKILL of the worker mid-execution until the pending call
  fails with WorkerDiedError.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

from app import Conductor, create_conductor  # noqa: E402
from ipc.client import IpcTransport  # noqa: E402
from main_process.engine.engine import Engine  # noqa: E402
from main_process.http.server import bind, create_app, server_config  # noqa: E402

TOKEN = "bench-token"


def chain(n: int) -> dict[str, Any]:
    return {
        "id": f"chain-{n}",
        "nodes": [
            {
                "id": f"n{i}",
                "type": "json.transform",
                "params": {"expression": f'merge(@, `{{"n{i}": true}}`)'},
            }
            for i in range(n)
        ],
    }


def chatty(count: int) -> dict[str, Any]:
    return {
        "id": "chatty",
        "nodes": [
            {
                "id": "talk",
                "type": "python.function",
                "params": {"function": "main_process.nodes.example_functions:emit_logs"},
            }
        ],
    }


@asynccontextmanager
async def http_conductor(home: Path) -> AsyncIterator[Conductor]:
    import uvicorn

    engine = Engine(home, plugins=False)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(server_config(create_app(engine, TOKEN)))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                await asyncio.sleep(0.005)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        conductor = create_conductor("http", api_url=url, token=TOKEN)
        try:
            yield conductor
        finally:
            await conductor.close()
    finally:
        server.should_exit = True
        await task
        sock.close()
        await engine.close()


@asynccontextmanager
async def open_transport(name: str, home: Path) -> AsyncIterator[Conductor]:
    if name == "http":
        async with http_conductor(home) as conductor:
            yield conductor
        return
    conductor = create_conductor(name, home=home, plugins=False)
    try:
        yield conductor
    finally:
        await conductor.close()


async def chain_medians(
    conductors: dict[str, Conductor], blueprint: dict[str, Any], runs: int
) -> dict[str, Any]:
    times: dict[str, list[float]] = {name: [] for name in conductors}
    for _ in range(5):
        for c in conductors.values():
            await c.execute(blueprint=blueprint)
    for _ in range(runs):
        for name, c in conductors.items():
            start = time.perf_counter()
            result = await c.execute(blueprint=blueprint)
            times[name].append(time.perf_counter() - start)
            assert result.success, result.error
    medians = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    out: dict[str, Any] = {f"{name}_ms": round(ms, 3) for name, ms in medians.items()}
    for name in ("ipc", "http"):
        out[f"{name}_added_ms"] = round(medians[name] - medians["direct"], 3)
    return out


async def _follow_all(c: Conductor, eid: str) -> int:
    seen = 0
    async for event in c.events(eid):
        seen += 1
        assert event.seq == seen, (event.seq, seen)
    return seen


async def throughput(c: Conductor, count: int) -> dict[str, float]:
    """Live: start a run that logs ``count`` lines and follow it to its end (bounded by
    how fast the engine makes events, too). Replay: follow the finished run again
    from seq 0 — what the transport alone carries."""
    start = time.perf_counter()
    eid = await c.start(blueprint=chatty(count), inputs={"count": count})
    seen = await _follow_all(c, eid)
    live = time.perf_counter() - start
    assert seen >= count
    start = time.perf_counter()
    again = await _follow_all(c, eid)
    replay = time.perf_counter() - start
    assert again == seen
    return {
        "events": seen,
        "live_events_per_s": round(seen / live),
        "replay_events_per_s": round(seen / replay),
    }


def process_ms(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(args, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times[1:]) * 1000, 1)


async def startup_ms(home: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        transport = IpcTransport(home, plugins=False)
        start = time.perf_counter()
        await transport.process.ready()
        times.append(time.perf_counter() - start)
        await transport.close()
    return times


async def death_ms(home: Path, runs: int) -> list[float]:
    transport = IpcTransport(home, plugins=False, max_restarts=1000)
    times = []
    blueprint = {"id": "blk", "nodes": [{"id": "d", "type": "delay", "params": {"seconds": 30}}]}
    try:
        for _ in range(runs):
            await transport.process.ready()
            eid = await Conductor(transport).start(blueprint=blueprint)
            pending = asyncio.ensure_future(Conductor(transport).wait(eid))
            await transport.ping()  # the wait request is in the worker by now
            pid = transport.process.pid
            assert pid is not None
            start = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            try:
                await pending
            except Exception:  # WorkerDiedError is the point
                times.append(time.perf_counter() - start)
    finally:
        await transport.close()
    return times


async def run_all(quick: bool) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="conductor-transports-"))
    runs = 15 if quick else 41
    events = 20_000 if quick else 100_000
    results: dict[str, Any] = {}
    async with (
        open_transport("direct", folder / "direct") as direct,
        open_transport("ipc", folder / "ipc") as ipc,
        open_transport("http", folder / "http") as http,
    ):
        conductors = {"direct": direct, "ipc": ipc, "http": http}
        results["W1"] = await chain_medians(conductors, chain(10), runs)
        results["W2"] = await chain_medians(conductors, chain(100), max(7, runs // 3))
        results["events"] = {name: await throughput(c, events) for name, c in conductors.items()}
    starts = await startup_ms(folder / "start", 3 if quick else 7)
    results["worker_startup"] = {
        "spawn_to_ready_ms": round(statistics.median(starts) * 1000, 1),
        "python_pass_ms": process_ms([sys.executable, "-c", "pass"], 3 if quick else 7),
        "import_worker_ms": process_ms(
            [sys.executable, "-c", "import main_process.worker"], 3 if quick else 7
        ),
    }
    deaths = await death_ms(folder / "death", 5 if quick else 15)
    results["death_detection"] = {
        "median_ms": round(statistics.median(deaths) * 1000, 2),
        "max_ms": round(max(deaths) * 1000, 2),
        "kills": len(deaths),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer runs and events")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.quick))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"{name:16} {figures}")


if __name__ == "__main__":
    main()
