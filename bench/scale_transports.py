"""W5 through each transport: time, and how much the CLIENT's memory grows.

    python bench/scale_transports.py [--json]

W5 (100,000 items {id, value, name} produced -> mapped (add "double") -> summed) as a
blueprint of ``python.function`` nodes (``bench.engine_workloads``' functions, so it
can cross a process), run through ``direct``, the pipe (``create_conductor("ipc")``,
a spawned worker) and HTTP (a ``conductor serve`` subprocess on 127.0.0.1).

Each measurement runs in a fresh subprocess (``--one TRANSPORT``; the median of
three): the client's
"peak RSS increase" is its peak RSS (``VmHWM``: ``ru_maxrss`` without what Linux
carries over exec from the parent) after the run minus its RSS after imports,
conductor creation and one warm-up call (issue 14's definition); the engine side's
peak (the worker's or the server's ``VmHWM``) is reported beside it. ``inline`` runs
the same with ``include_node_outputs=True``, which is what every result carried
before result handles (see ``app/output_handles.py``): the before figure, measured
in the same sitting. ``ipc_follow`` starts, follows the events and then waits (as
the CLI and the app do), so the worker answers from the store, not from memory.
Target: client increase <= 10 MB on ipc and http.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

TOKEN = "bench-token"
TRANSPORTS = ("direct", "ipc", "http")
#: Fresh client processes per figure (the median is reported).
REPEAT = 3


def w5_blueprint() -> dict[str, Any]:
    """W5 with importable node functions (a code-defined node cannot leave its process)."""

    def fn(node_id: str, name: str) -> dict[str, Any]:
        return {
            "id": node_id,
            "type": "python.function",
            "params": {"function": f"bench.engine_workloads:{name}"},
        }

    return {
        "id": "w5-items",
        "nodes": [fn("produce", "produce"), fn("map", "double"), fn("sum", "total")],
    }


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _hwm_kb(pid: int) -> int | None:
    """A process's peak RSS (``VmHWM``), in KB; None when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def _measure_one(
    transport: str, inline: bool, home: str, url: str | None, follow: bool
) -> dict[str, Any]:
    import psutil

    from app import create_conductor

    if transport == "http":
        conductor = create_conductor("http", api_url=url, token=TOKEN)
    else:
        conductor = create_conductor(transport, home=home, plugins=False)
    blueprint = w5_blueprint()
    async with conductor:
        await conductor.node_types()  # connected (the worker spawned), models built
        workers = psutil.Process().children() if transport == "ipc" else []
        engine_base = sum(w.memory_info().rss for w in workers) // 1024 if workers else None
        base = _rss_kb()
        started = time.perf_counter()
        if follow:  # as the CLI and the app do: start, follow the events, then wait
            eid = await conductor.start(blueprint=blueprint)
            async for _event in conductor.events(eid):
                pass
            await asyncio.sleep(0.2)  # the run's task is over: wait reads the record
            result = await conductor.wait(eid, include_node_outputs=inline)
        else:
            result = await conductor.execute(blueprint=blueprint, include_node_outputs=inline)
        seconds = time.perf_counter() - started
        assert result.success, result.error
        # ru_maxrss, except that Linux keeps ru_maxrss across exec: a client started
        # from a big process (pytest) would report its parent's size. VmHWM is the
        # same peak for this process image alone.
        peak = _hwm_kb(os.getpid()) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        engine_peak = None
        if transport == "ipc":
            children = psutil.Process().children()
            engine_peak = max((_hwm_kb(c.pid) or 0 for c in children), default=None)
    return {
        "seconds": round(seconds, 3),
        "client_peak_increase_mb": round((peak - base) / 1024, 1),
        "engine_peak_mb": None if engine_peak is None else round(engine_peak / 1024, 1),
        "engine_base_mb": None if engine_base is None else round(engine_base / 1024, 1),
    }


def _one(transport: str, inline: bool, home: str, url: str | None, follow: bool) -> None:
    figures = asyncio.run(_measure_one(transport, inline, home, url, follow))
    print(json.dumps(figures))


def _fresh(
    transport: str, inline: bool, home: str, url: str | None, follow: bool = False
) -> dict[str, Any]:
    """The median of :data:`REPEAT` fresh client processes' figures."""
    runs = [_fresh_once(transport, inline, home, url, follow) for _ in range(REPEAT)]
    return {
        key: statistics.median(r[key] for r in runs) if runs[0][key] is not None else None
        for key in runs[0]
    }


def _fresh_once(
    transport: str, inline: bool, home: str, url: str | None, follow: bool
) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--one", transport, "--home", home]
    if follow:
        argv.append("--follow")
    if url:
        argv += ["--url", url]
    if inline:
        argv.append("--inline")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{transport} run failed:\n{out.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def run() -> dict[str, Any]:
    """Every transport, handles (the default) and inline (the old behaviour)."""
    from bench.engine_workloads import ITEMS
    from tests.main_process.serve_process import serve_process

    results: dict[str, Any] = {"items": ITEMS}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        serve_home = Path(tmp) / "serve-home"
        serve_home.mkdir(mode=0o700)
        with serve_process(serve_home, TOKEN, cwd=ROOT) as url:
            server_pid = _server_pid(url)
            for transport in TRANSPORTS:
                for inline in (False, True):
                    name = f"{transport}{'_inline' if inline else ''}"
                    figures = _fresh(transport, inline, str(home), url)
                    if transport == "http" and server_pid is not None:
                        figures["engine_peak_mb"] = round((_hwm_kb(server_pid) or 0) / 1024, 1)
                    results[name] = figures
            for inline in (False, True):
                name = f"ipc_follow{'_inline' if inline else ''}"
                results[name] = _fresh("ipc", inline, str(home), url, follow=True)
    for transport in ("ipc", "http"):
        inc = results[transport]["client_peak_increase_mb"]
        results[f"{transport}_client_within_10mb"] = inc <= 10
    return results


def _server_pid(url: str) -> int | None:
    """The pid of the ``conductor serve`` listening on ``url`` (its engine's peak)."""
    import psutil

    port = int(url.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN":
            return conn.pid
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", choices=TRANSPORTS)
    parser.add_argument("--home")
    parser.add_argument("--url")
    parser.add_argument("--inline", action="store_true")
    parser.add_argument("--follow", action="store_true")
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.inline, args.home, args.url, args.follow)
        return
    results = run()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"{name:14} {figures}")


if __name__ == "__main__":
    main()
