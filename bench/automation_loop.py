"""Loop figures (issue 13): 10,000 iterations of a trivial body.

``run()`` starts a fresh engine process (``python bench/automation_loop.py --child``,
the direct transport: the bench's child *is* the engine process), warms it up with a
100-item loop, then times a 10,000-item loop of a one-node body (``set`` of
``{{ item }}``) on a real data dir, and samples the process's resident memory
(``/proc/self/statm``, every 2 ms on a thread) during the run: ``loop_10k_peak_mb`` is
the peak minus the resident size just before it. Targets: ``loop_10k_s`` ≤ 5 and
``loop_10k_peak_mb`` ≤ 50.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 10_000
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * _PAGE


class _Sampler:
    """The highest resident size seen while running."""

    def __init__(self) -> None:
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


async def _measure(home: Path) -> dict[str, float]:
    from app import create_conductor

    (home / "blueprints").mkdir(parents=True, exist_ok=True)
    body = {
        "id": "trivial",
        "nodes": [{"id": "v", "type": "set", "params": {"value": "{{ item }}"}}],
    }
    (home / "blueprints" / "trivial.json").write_text(json.dumps(body))
    looper = {
        "id": "loop-bench",
        "inputs": {"items": {"type": "array"}},
        "nodes": [
            {
                "id": "each",
                "type": "loop",
                "params": {"items": "{{ inputs.items }}", "body": "trivial"},
            }
        ],
    }
    c = create_conductor("direct", home=home, plugins=False)
    try:
        warm = await c.execute(blueprint=looper, inputs={"items": list(range(100))})
        assert warm.success, warm.error
        items = list(range(ITEMS))
        before = _rss()
        with _Sampler() as sampler:
            started = time.perf_counter()
            result = await c.execute(blueprint=looper, inputs={"items": items})
            elapsed = time.perf_counter() - started
        assert result.success, result.error
        assert result.outputs == items
        links = await c.subflows.execution_links(result.execution_id)
        assert links.loops["each"].completed == ITEMS
    finally:
        await c.close()
    return {
        "loop_10k_s": round(elapsed, 3),
        "loop_10k_peak_mb": round((sampler.peak - before) / 2**20, 1),
        "loop_10k_per_item_us": round(elapsed / ITEMS * 1e6, 1),
    }


def run() -> dict[str, float]:
    """The figures, measured in a fresh engine process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        sys.path.insert(0, str(ROOT))
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(asyncio.run(_measure(Path(tmp) / "home"))), flush=True)
    else:
        print(json.dumps(run(), indent=2))
