"""Schedule fire jitter: an ``every: 1`` schedule on a real engine for ~20 s.

A temp data dir holds one user blueprint with the schedule; the engine's trigger
runtime fires it on the system clock. Each fire records when it was due and when
it fired; the figure is the largest ``|fired - scheduled|`` (target ≤ 1 s), with
the median beside it and how many fires there were.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from app.triggers import FireOutcome
from main_process.engine.engine import Engine
from main_process.store import triggers as trigger_store

DURATION_S = 20.0
TRIGGER_ID = "bench-schedule:tick"


async def _measure(home: Path) -> dict[str, float]:
    folder = home / "blueprints"
    folder.mkdir(parents=True)
    blueprint = {
        "id": "bench-schedule",
        "nodes": [
            {"id": "stamp", "type": "set", "params": {"value": "{{ trigger.scheduled_at }}"}}
        ],
        "triggers": [{"kind": "schedule", "name": "tick", "every": 1}],
    }
    (folder / "bench-schedule.json").write_text(json.dumps(blueprint))
    engine = Engine(home, plugins=False)
    try:
        engine.triggers.start_runtime()
        await asyncio.sleep(DURATION_S)
    finally:
        await engine.close()
    store_engine = Engine(home, plugins=False)  # read what was recorded
    try:
        assert store_engine.store is not None
        fires = trigger_store.fires(store_engine.store, TRIGGER_ID, limit=10_000)
    finally:
        await store_engine.close()
    started = [f for f in fires if f.outcome is FireOutcome.STARTED and f.scheduled_at]
    lags = [abs(f.fired_at - (f.scheduled_at or 0.0)) for f in started]
    return {
        "schedule_jitter_max_s": round(max(lags), 4) if lags else float("nan"),
        "schedule_jitter_p50_s": round(statistics.median(lags), 4) if lags else float("nan"),
        "schedule_fires": float(len(started)),
        "schedule_other_outcomes": float(len(fires) - len(started)),
    }


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="conductor-bench-schedule-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        return asyncio.run(_measure(home))


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
