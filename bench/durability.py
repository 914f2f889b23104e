"""What durability costs: W1, W2 and W3 with and without each completion's commit.

    python bench/durability.py [--json] [--runs N]

Conductor commits a node's completion (WAL, ``synchronous=NORMAL``) before any
node that consumes its output starts and before its completion event leaves the
process, so a killed process never runs a finished node again. This bench runs the
same workloads as ``bench/engine.py`` (the conductor created once, a
``gc.collect()`` before each timed execution, GC on) twice, alternately in one
process: as shipped, and with the per-completion commit skipped (the recorder's
``commit_held`` delivers the held events without waiting for the store; the end
of the execution is still committed before it is reported). The difference is the
price of "no finished node runs twice". Not a mode the product has: the switch is
this bench's own monkeypatch.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine_workloads as w

from app import create_conductor
from main_process.engine.state_manager import StateManager

DURABLE = StateManager.commit_held


async def not_durable(self: StateManager, execution_id: str) -> None:
    state = self.require_active(execution_id)
    self.log.committed(state, state.seq)


async def run_all(runs: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="conductor-durability-"))
    c = create_conductor("direct", home=folder / "home", base_dir=folder, plugins=False)
    workloads = {
        "W1": w.chain_blueprint(10),
        "W2": w.chain_blueprint(100),
        "W3": w.fan_blueprint(50, 0.010),
    }
    results: dict[str, Any] = {}
    try:
        for name, blueprint in workloads.items():
            times: dict[str, list[float]] = {"durable": [], "not_durable": []}
            for _ in range(3):
                await c.execute(blueprint=blueprint)
            for _ in range(runs):
                for mode, method in (("durable", DURABLE), ("not_durable", not_durable)):
                    StateManager.commit_held = method  # type: ignore[method-assign]
                    gc.collect()
                    start = time.perf_counter()
                    await c.execute(blueprint=blueprint)
                    times[mode].append(time.perf_counter() - start)
            on = statistics.median(times["durable"]) * 1000
            off = statistics.median(times["not_durable"]) * 1000
            results[name] = {
                "durable_ms": round(on, 3),
                "without_completion_commits_ms": round(off, 3),
                "cost_ms": round(on - off, 3),
                "cost_pct": round((on / off - 1) * 100, 1),
            }
    finally:
        StateManager.commit_held = DURABLE  # type: ignore[method-assign]
        await c.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=21, help="runs of each (default 21)")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.runs))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"{name:4} " + "  ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
