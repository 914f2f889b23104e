"""GUI benchmark, offscreen: the real window and the real worker under a flood of events.

    python bench/gui.py [--json] [--events N]

* stall: the longest gap between ticks of a 5 ms QTimer heartbeat on the GUI thread
  while a blueprint emits N (default 100,000) events through the worker into the
  window — the window's worst moment of unresponsiveness;
* final state: time from the worker's terminal event (its timestamp) to the moment
  the window shows the execution completed (canvas badge and monitor);
* start-up: a fresh process from ``python`` to a usable window (shown, worker ready,
  node types loaded), against ``python -c pass``;
* canvas: a 1,000-node blueprint opened in the editor (document, scene, fit, first
  paint) and then panned and zoomed in 60 steps, each step painted synchronously:
  the open time and the slowest frame;
* time travel: after the flood, the whole log indexed (read by page from the worker)
  with the longest heartbeat stall meanwhile, then the time to show each of 40
  positions spread over the run (scrubbing), median and worst.
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

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

CHILD = r"""
import os, sys, time, asyncio
t0 = time.perf_counter()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["CONDUCTOR_IN_GUI"] = "1"
import qasync
from PySide6.QtWidgets import QApplication
from renderer.main_window import MainWindow
from renderer.settings import settings_path
settings_path(sys.argv[2])
app = QApplication([])
app.setQuitOnLastWindowClosed(False)
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)

async def ready():
    from pathlib import Path
    window = MainWindow(Path(sys.argv[1]), restore=False)
    window.show()
    while window.bridge.worker_state != "ready" or window.document.catalog.get("set") is None:
        await asyncio.sleep(0.005)
    print(f"{time.perf_counter() - t0:.4f}", flush=True)
    await window.shutdown()

with loop:
    loop.run_until_complete(ready())
"""


def startup(folder: Path, runs: int) -> dict[str, float]:
    ours, bare = [], []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder / f"home{i}"), str(folder / f"s{i}")],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        del start
        # The child prints its time from its first line to a usable window; add the
        # interpreter's own start-up, measured beside it.
        inside = float(done.stdout.strip().splitlines()[-1])
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        interpreter = time.perf_counter() - start
        if i:  # the first run warms the disk cache
            ours.append(inside + interpreter)
            bare.append(interpreter)
    return {
        "usable_window_ms": round(statistics.median(ours) * 1000, 1),
        "python_pass_ms": round(statistics.median(bare) * 1000, 1),
    }


async def flood(home: Path, events: int) -> dict[str, Any]:
    from PySide6.QtCore import QTimer

    from app.states import ExecutionStatus
    from renderer.app_main import tune_gc
    from renderer.main_window import MainWindow

    window = MainWindow(home, restore=False)
    window.show()
    tune_gc()  # as renderer.app_main.main does once the window is up
    try:
        while window.bridge.worker_state != "ready" or window.document.catalog.get("set") is None:
            await asyncio.sleep(0.005)
        window.document.new("flood")
        window.document.add_node(
            "python.function",
            node_id="talk",
            params={"function": "main_process.nodes.example_functions:emit_logs"},
        )
        last = time.perf_counter()
        worst = 0.0
        ticks = 0

        def tick() -> None:
            nonlocal last, worst, ticks
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now
            ticks += 1

        heartbeat = QTimer()
        heartbeat.setInterval(5)
        heartbeat.timeout.connect(tick)
        shown_at: list[float] = []

        def finished(execution_id: str, result: Any) -> None:
            shown_at.append(time.time())

        window.bridge.execution_finished.connect(finished)
        # A first, small run loads what the window loads lazily (as any first run does).
        warm = await window.runs.run(inputs={"count": 1000})
        assert warm is not None
        while len(shown_at) < 1:
            await asyncio.sleep(0.01)
        shown_at.clear()
        started = time.perf_counter()
        heartbeat.start()
        last = time.perf_counter()
        execution_id = await window.runs.run(inputs={"count": events})
        assert execution_id is not None
        view = window.bridge.model.execution(execution_id)
        while not shown_at or view is None or view.status != ExecutionStatus.COMPLETED.value:
            await asyncio.sleep(0.002)
            view = window.bridge.model.execution(execution_id)
        badge_at = time.time()
        heartbeat.stop()
        elapsed = time.perf_counter() - started
        recorded = await window.bridge.conductor.get_execution(execution_id)
        terminal = [
            e async for e in window.bridge.conductor.events(execution_id, view.last_seq - 1)
        ][-1]
        figures = {
            "events": view.last_seq,
            "seconds": round(elapsed, 2),
            "longest_stall_ms": round(worst * 1000, 1),
            "heartbeat_ticks": ticks,
            "final_state_after_last_event_ms": round((badge_at - terminal.ts) * 1000, 1),
            "status": recorded.status.value,
        }
        worst, last = 0.0, time.perf_counter()
        heartbeat.start()
        figures["time_travel"] = await scrub(window, execution_id, view.last_seq)
        heartbeat.stop()
        figures["time_travel"]["longest_stall_ms"] = round(worst * 1000, 1)
        return figures
    finally:
        await window.shutdown()


async def scrub(window: Any, execution_id: str, total: int) -> dict[str, Any]:
    """Index the run's whole log, then show 40 positions across it, each timed."""
    travel = window.runs.travel
    window.runs.show_execution(execution_id)
    started = time.perf_counter()
    while travel.replay is None or travel.replay.indexed < total:
        await asyncio.sleep(0.005)
    indexed = time.perf_counter() - started
    shown: list[float] = []
    for k in range(40):
        seq = (k * 7919 * 13) % (total + 1)  # spread, not in order: as a drag jumps
        start = time.perf_counter()
        travel.show(seq)
        await travel.shown()
        shown.append(time.perf_counter() - start)
        assert travel.position == seq
    travel.back_to_live()
    return {
        "indexed_events": total,
        "index_seconds": round(indexed, 2),
        "show_position_median_ms": round(statistics.median(shown) * 1000, 1),
        "show_position_max_ms": round(max(shown) * 1000, 1),
    }


def big_blueprint(nodes: int) -> dict[str, Any]:
    """A wide graph: a chain of ``set`` nodes with a branch every 10th (1,000 by default)."""
    specs = [{"id": f"n{i}", "type": "set", "params": {"value": i}} for i in range(nodes)]
    edges = [{"source": f"n{i - 1}", "target": f"n{i}"} for i in range(1, nodes)]
    edges += [{"source": f"n{i}", "target": f"n{i + 5}"} for i in range(0, nodes - 5, 10)]
    return {"id": "big", "nodes": specs, "edges": edges}


def canvas(nodes: int) -> dict[str, Any]:
    """Open a ``nodes``-node blueprint in the real canvas; pan and zoom it."""
    from PySide6.QtWidgets import QApplication

    from app.blueprint import Blueprint
    from app.results import NodeTypeInfo
    from renderer.canvas.scene import BlueprintScene
    from renderer.canvas.view import CanvasView
    from renderer.editor.document import EditorDocument

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    types = [NodeTypeInfo(type="set", title="Set value", category="Data")]
    blueprint = Blueprint.model_validate(big_blueprint(nodes))
    started = time.perf_counter()
    document = EditorDocument(types)
    document.load(blueprint)
    view = CanvasView(BlueprintScene(document))
    view.resize(1400, 900)
    view.show()
    view.fit_to_view()
    view.viewport().repaint()
    app.processEvents()
    opened = time.perf_counter() - started
    frames: list[float] = []
    view.set_zoom(1.0)
    for step in range(60):
        start = time.perf_counter()
        if step % 3 == 2:
            view.set_zoom(view.zoom * (1.15 if step % 2 else 1 / 1.15))
        else:
            bar = view.horizontalScrollBar()
            bar.setValue(bar.value() + 40)
        view.viewport().repaint()
        frames.append(time.perf_counter() - start)
    view.close()
    return {
        "nodes": nodes,
        "open_ms": round(opened * 1000, 1),
        "slowest_frame_ms": round(max(frames) * 1000, 1),
        "median_frame_ms": round(statistics.median(frames) * 1000, 1),
    }


def run_flood(home: Path, events: int) -> dict[str, Any]:
    import qasync
    from PySide6.QtWidgets import QApplication

    from renderer.settings import settings_path

    settings_path(home.parent / "settings")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    app.setQuitOnLastWindowClosed(False)  # closing the window must not stop the loop
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(flood(home, events))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=1000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="conductor-gui-bench-"))
    results = {
        "canvas": canvas(args.nodes),
        "flood": run_flood(folder / "home", args.events),
        "startup": startup(folder, args.runs),
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, figures in results.items():
            print(f"{name:8} {figures}")


if __name__ == "__main__":
    main()
