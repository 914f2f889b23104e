"""What one commit costs: µs per store transaction and WAL pages per commit, W1 and W2.

    python bench/commit.py [--json] [--runs N]

A node's completion is committed before its consumer starts, so a chain of N nodes
makes about N + 1 commits (the first also inserts the execution, the last ends it).
This bench runs W1 and W2 (``bench/engine.py``'s chains, the conductor created
once, a ``gc.collect()`` before each run) and reports the median time of the
store's ``apply_batch`` (BEGIN ... COMMIT, on the loop or the writer thread) and
the WAL frames (pages) one execution writes, read from the ``-wal`` file's frame
headers. Set ``CONDUCTOR_BENCH_SRC`` (and ``PYTHONPATH``) to measure another
checkout in the same sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("CONDUCTOR_BENCH_SRC") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

import engine_workloads as w  # noqa: E402

from app import create_conductor  # noqa: E402
from main_process.store import commits  # noqa: E402
from main_process.store.ops import apply_batch  # noqa: E402

TIMES: list[float] = []


def timed_apply(conn: Any, ops: Any) -> Any:
    start = time.perf_counter()
    try:
        return apply_batch(conn, ops)
    finally:
        TIMES.append(time.perf_counter() - start)


def wal_frames(wal: Path) -> tuple[int, int]:
    """(frames, commits) in the WAL's current generation (frames whose salts match)."""
    data = wal.read_bytes()
    if len(data) < 32:
        return 0, 0
    page_size, salt = struct.unpack(">I", data[8:12])[0], data[16:24]
    frames = commits_seen = 0
    offset = 32
    while offset + 24 + page_size <= len(data) and data[offset + 8 : offset + 16] == salt:
        frames += 1
        commits_seen += struct.unpack(">I", data[offset + 4 : offset + 8])[0] != 0
        offset += 24 + page_size
    return frames, commits_seen


async def run_all(runs: int) -> dict[str, Any]:
    commits.apply_batch = timed_apply  # type: ignore[assignment]
    folder = Path(tempfile.mkdtemp(prefix="conductor-commit-"))
    c = create_conductor("direct", home=folder / "home", base_dir=folder, plugins=False)
    wal = next((folder / "home").glob("*.db")).with_suffix(".db-wal")
    results: dict[str, Any] = {}
    try:
        for name, blueprint in (("W1", w.chain_blueprint(10)), ("W2", w.chain_blueprint(100))):
            for _ in range(20):
                await c.execute(blueprint=blueprint)
            TIMES.clear()
            pages: list[float] = []
            for _ in range(runs):
                gc.collect()
                before = wal_frames(wal)
                await c.execute(blueprint=blueprint)
                after = wal_frames(wal)
                if after[0] > before[0] and after[1] > before[1]:  # not across a WAL restart
                    pages.append((after[0] - before[0]) / (after[1] - before[1]))
            results[name] = {
                "commit_us_median": round(statistics.median(TIMES) * 1e6, 1),
                "commit_us_mean": round(statistics.mean(TIMES) * 1e6, 1),
                "commit_us_p99": round(sorted(TIMES)[int(len(TIMES) * 0.99)] * 1e6, 1),
                "commits_over_1ms": sum(t > 0.001 for t in TIMES),
                "commits_per_run": round(len(TIMES) / runs, 1),
                "wal_pages_per_commit": round(statistics.median(pages), 2) if pages else None,
            }
    finally:
        await c.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=100, help="timed runs of each (default 100)")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.runs))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"{name:4} " + "  ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
