"""Data at scale: streamed W5 in bounded memory, plus the other scale sections.

    python bench/scale.py [--json] [--items N] [--runs R] [--big]

**W5 streamed**: ``produce`` (a generator node) -> ``map`` (a per-item node adding
``double``) -> ``sum`` (a ``sum`` node over ``double``), 100,000 items by default,
against the list-based W5 of ``bench/engine_workloads.py`` (``items_blueprint``:
each node returns a whole list) measured in the same sitting.

* **Peak RSS increase**: each figure comes from a FRESH subprocess: its maximum RSS
  at the end (``VmHWM``: Linux's ``ru_maxrss`` of a child starts at its parent's RSS
  at fork, see :func:`_peak_bytes`) minus the process's RSS after imports, engine
  creation and one warm-up run of 1,000 items (which loads what a first run imports
  lazily), taken before the measured run. Target for streamed W5: <= 4.26 MB.
* **Time**: streamed and list-based W5 alternately in one process, medians of
  ``--runs`` each after a warm-up; the ratio streamed / list (target <= 1.2x), with
  the streamed functions on the loop as the list W5's ``async def`` nodes are
  (``ratio_*``) and on node threads, the default for plain ``def`` code
  (``ratio_threads_*``: a thread hand-off per chunk and node), in wall and CPU time.
* ``--big``: the streamed peak at 10,000,000 items too (slow: tens of seconds), as
  a ratio to the 100,000-item peak (target <= 2x).

Other sections live in their own modules with ``run() -> dict`` (``bench/scale_dask.py``,
``bench/scale_transports.py``); each present one runs in a fresh subprocess and its
dict is reported under its name.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app import Blueprint, Conductor, NodeSpec, create_conductor, create_simple_node  # noqa: E402

#: Sections in other modules of this folder, each with ``run() -> dict``.
SECTIONS = ("scale_dask", "scale_transports")


def streamed_blueprint(items: int, runner: str | None = None) -> Blueprint:
    """W5 as a stream: a generator, a per-item map, a sum node. ``runner``: where the
    plain functions run (default: node threads; ``inline``: the loop, as the list
    W5's ``async def`` nodes do)."""

    def produce(value: Any) -> Iterator[dict[str, Any]]:
        for i in range(items):
            yield {"id": i, "value": i % 100, "name": f"item-{i}"}

    def double(item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "double": item["value"] * 2}

    return Blueprint(
        id=f"w5-stream-{items}",
        nodes=[
            create_simple_node("produce", "produce", produce, runner=runner),
            create_simple_node("map", "double", double, per_item=True, runner=runner),
            NodeSpec(id="sum", type="sum", params={"field": "double"}),
        ],
    )


def expected_sum(items: int) -> int:
    return sum((i % 100) * 2 for i in range(items))


def list_blueprint(items: int) -> Blueprint:
    """W5 as lists (``bench/engine_workloads.py``), at ``items`` items."""
    import engine_workloads as w

    w.ITEMS = items
    return w.items_blueprint()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    """This process's maximum RSS. ``ru_maxrss`` on Linux keeps the parent's RSS at
    fork across exec (a child of a 97 MB parent reports >= 97 MB), so the high-water
    mark of this process's own memory map (``VmHWM``, new at exec) is read instead;
    elsewhere ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _conductor(folder: Path) -> Conductor:
    return create_conductor("direct", home=folder / "home", base_dir=folder, plugins=False)


async def _child(kind: str, items: int) -> dict[str, Any]:
    """One measured run in this (fresh) process; see the module docs."""
    folder = Path(tempfile.mkdtemp(prefix="conductor-scale-"))
    c = _conductor(folder)
    make = streamed_blueprint if kind == "stream" else list_blueprint
    try:
        warm = await c.execute(blueprint=make(1000))
        assert warm.success, warm.error
        blueprint = make(items)
        gc.collect()
        before = _rss_bytes()
        start = time.perf_counter()
        result = await c.execute(blueprint=blueprint)
        elapsed = time.perf_counter() - start
        peak = _peak_bytes()
    finally:
        await c.close()
    assert result.success, result.error
    assert result.outputs == expected_sum(items), result.outputs
    return {
        "items": items,
        "rss_before_mb": round(before / 1e6, 2),
        "peak_mb": round(peak / 1e6, 2),
        "peak_increase_mb": round(max(0, peak - before) / 1e6, 2),
        "run_s": round(elapsed, 3),
    }


def fresh(*args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run this file with ``args`` in a fresh interpreter; its JSON answer."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-2000:]}
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


async def _times(items: int, runs: int) -> dict[str, Any]:
    """Streamed W5 (its plain functions on the loop like the list W5's ``async def``
    nodes, and on node threads, the default) and list-based W5, alternately in one
    process: medians of wall time and of CPU time (all threads; steadier on a loaded
    machine), and their ratios to the list W5."""
    folder = Path(tempfile.mkdtemp(prefix="conductor-scale-"))
    c = _conductor(folder)
    variants = {
        "stream": streamed_blueprint(items, "inline"),
        "stream_threads": streamed_blueprint(items),
        "list": list_blueprint(items),
    }
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for round_ in range(runs + 1):
            for name, blueprint in variants.items():
                gc.collect()
                start, start_cpu = time.perf_counter(), time.process_time()
                result = await c.execute(blueprint=blueprint)
                elapsed, used = time.perf_counter() - start, time.process_time() - start_cpu
                assert result.success and result.outputs == expected_sum(items), result.error
                if round_:  # the first round warms up
                    wall[name].append(elapsed)
                    cpu[name].append(used)
    finally:
        await c.close()
    report: dict[str, Any] = {"runs": runs}
    for kind, samples in (("wall", wall), ("cpu", cpu)):
        medians = {name: statistics.median(values) for name, values in samples.items()}
        for name, value in medians.items():
            report[f"{name}_{kind}_ms"] = round(value * 1000, 1)
        report[f"ratio_{kind}"] = round(medians["stream"] / medians["list"], 2)
        report[f"ratio_threads_{kind}"] = round(medians["stream_threads"] / medians["list"], 2)
    return report


def w5(items: int, runs: int, big: bool) -> dict[str, Any]:
    streamed = fresh("--child", "stream", "--items", str(items))
    listed = fresh("--child", "list", "--items", str(items))
    report: dict[str, Any] = {
        "items": items,
        "stream": streamed,
        "list": listed,
        "peak_increase_target_mb": 4.26,
        "time": asyncio.run(_times(items, runs)),
        "time_target_ratio": 1.2,
    }
    if big:
        huge = fresh("--child", "stream", "--items", "10000000", timeout=3600)
        report["stream_10m"] = huge
        if "peak_increase_mb" in huge and streamed.get("peak_increase_mb"):
            report["peak_10m_ratio"] = round(
                huge["peak_increase_mb"] / max(streamed["peak_increase_mb"], 0.01), 2
            )
        report["peak_10m_target_ratio"] = 2.0
    return report


def sections(skip: list[str]) -> dict[str, Any]:
    """Each other scale section present here (and not skipped), in a fresh subprocess."""
    found: dict[str, Any] = {}
    for name in SECTIONS:
        if name not in skip and importlib.util.find_spec(name) is not None:
            found[name] = fresh("--section", name)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big", action="store_true", help="also stream 10,000,000 items")
    parser.add_argument(
        "--skip", action="append", default=[], choices=SECTIONS, help="leave out a section"
    )
    parser.add_argument("--child", choices=("stream", "list"), help=argparse.SUPPRESS)
    parser.add_argument("--section", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.items))))
        return
    if args.section:
        module = importlib.import_module(args.section)
        print(json.dumps(module.run()))
        return
    load = os.getloadavg()[0]
    report = {"load_1min": round(load, 2), "W5_stream": w5(args.items, args.runs, args.big)}
    report.update(sections(args.skip))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, value in report.items():
            print(f"{name}: {json.dumps(value)}")


if __name__ == "__main__":
    main()
