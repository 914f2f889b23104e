"""The bundled ``scheduled-report`` example: off while bundled, firing on its cron
once copied to the data dir's ``blueprints/`` folder (manual clock: a five-minute
schedule in a moment)."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.paths import EXAMPLES_DIR
from app.triggers import FireOutcome
from main_process.engine.engine import Engine
from main_process.triggers.clock import ManualClock
from tests.main_process.triggers.helpers import wait_fires, wait_for

TID = "scheduled-report:every-5-min"
BOUNDARY = 1_800_000_000.0  # a multiple of 300: a five-minute mark in UTC


async def test_a_bundled_examples_triggers_do_not_run(home: Path) -> None:
    engine = Engine(home, plugins=False)
    try:
        assert await engine.triggers.list() == []
    finally:
        await engine.close()


async def test_the_copied_example_fires_on_its_cron(home: Path) -> None:
    (home / "blueprints").mkdir()
    shutil.copy(EXAMPLES_DIR / "scheduled-report.json", home / "blueprints")
    engine = Engine(home, plugins=False)
    clock = ManualClock(BOUNDARY - 299.5)
    try:
        engine.triggers.start_runtime(clock=clock, rescan_seconds=0.05)
        runtime = engine.triggers.runtime
        assert runtime is not None
        await wait_for(lambda: runtime.armed == [TID])
        # Armed means its anchor (first seen at the clock's now) is recorded.
        await clock.set(BOUNDARY + 0.3)
        [fired] = await wait_fires(engine, TID, 1)
        assert fired.outcome is FireOutcome.STARTED
        assert fired.scheduled_at == BOUNDARY
        result = await engine.wait(fired.execution_id or "")
        assert result.outputs == {
            "service": "billing-api",
            "trigger": "every-5-min",
            "due": "2027-01-15T08:00:00+00:00",  # BOUNDARY as a person reads it
        }
        assert result.nodes["report"].status.value == "completed"
    finally:
        await engine.close()
