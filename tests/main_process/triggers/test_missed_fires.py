"""Missed schedule fires after a pause (machine asleep, app closed), per policy, on a
real engine with a manual clock: an hour of a minute schedule runs in a moment."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from app.triggers import FireInfo, FireOutcome
from main_process.engine.engine import Engine
from main_process.store import triggers as trigger_store
from main_process.triggers.clock import ManualClock
from tests.main_process.triggers.helpers import wait_fires, write_blueprint

T0 = 1_800_000_000.0
TID = "nightly:tick"


async def _run_after_a_pause(
    home: Path, policy: str, expected: int
) -> tuple[Engine, ManualClock, list[FireInfo]]:
    write_blueprint(
        home,
        "nightly",
        [{"kind": "schedule", "name": "tick", "every": 60, "missed": policy, "max_catch_up": 3}],
    )
    engine = Engine(home, plugins=False)
    assert engine.store is not None
    # The last run, recorded before "the app was closed" at T0.
    trigger_store.record_fire(
        engine.store,
        FireInfo(trigger_id=TID, outcome=FireOutcome.STARTED, scheduled_at=T0, fired_at=T0),
    )
    clock = ManualClock(T0 + 10 * 60 + 30)  # ten fires fell while nothing ran
    engine.triggers.start_runtime(clock=clock, rescan_seconds=0.05)
    fires = await wait_fires(engine, TID, expected)
    return engine, clock, fires[1:]


async def test_skip_records_the_missed_fires_and_runs_none(home: Path) -> None:
    engine, clock, fires = await _run_after_a_pause(home, "skip", 2)
    try:
        assert [f.outcome for f in fires] == [FireOutcome.MISSED]
        assert fires[0].detail is not None and fires[0].detail.startswith("10 fire(s) missed")
        await _next_fire_is_on_time(engine, clock)
    finally:
        await engine.close()


async def test_run_once_runs_the_newest_missed_fire(home: Path) -> None:
    engine, clock, fires = await _run_after_a_pause(home, "run_once", 3)
    try:
        outcomes = [(f.outcome, f.scheduled_at) for f in fires]
        assert (FireOutcome.MISSED, T0 + 540) in outcomes  # nine dropped, newest named
        started = [f for f in fires if f.outcome is FireOutcome.STARTED]
        assert [f.scheduled_at for f in started] == [T0 + 600]
        result = await engine.wait(started[0].execution_id or "")
        assert result.success
        assert result.outputs["catch_up"] is True
        assert result.config["triggered_by"] == TID
        await _next_fire_is_on_time(engine, clock)
    finally:
        await engine.close()


async def test_run_all_runs_the_newest_max_catch_up_fires(home: Path) -> None:
    engine, clock, fires = await _run_after_a_pause(home, "run_all", 5)
    try:
        missed = [f for f in fires if f.outcome is FireOutcome.MISSED]
        started = [f for f in fires if f.outcome is FireOutcome.STARTED]
        assert len(missed) == 1 and missed[0].detail is not None
        assert missed[0].detail.startswith("7 fire(s) missed")
        assert [f.scheduled_at for f in started] == [T0 + 480, T0 + 540, T0 + 600]
        for fired in started:
            assert (await engine.wait(fired.execution_id or "")).success
        await _next_fire_is_on_time(engine, clock)
    finally:
        await engine.close()


async def _next_fire_is_on_time(engine: Engine, clock: ManualClock) -> None:
    """After catching up, the schedule goes on in phase: T0 + 660 fires as usual."""
    assert engine.store is not None
    store = engine.store
    before = len(trigger_store.fires(store, TID))

    async def scheduled() -> float | None:
        return trigger_store.read_states(store, [TID])[TID].next_fire_at

    async with asyncio.timeout(30):
        while await scheduled() != T0 + 660:
            await asyncio.sleep(0.02)
    await clock.set(T0 + 660.2)
    fires = await wait_fires(engine, TID, before + 1)
    last = fires[-1]
    assert last.outcome is FireOutcome.STARTED
    assert last.scheduled_at == T0 + 660
    assert last.fired_at - T0 - 660 == pytest.approx(0.2)


async def test_a_fire_started_but_not_recorded_is_not_started_again(home: Path) -> None:
    """A process killed after starting a fire's execution, before recording the fire:
    its successor's catch-up finds that execution by trigger and scheduled time and
    records the fire with it, instead of running the same time twice."""
    write_blueprint(home, "nightly", [{"kind": "schedule", "name": "tick", "every": 60}])
    engine = Engine(home, plugins=False)
    assert engine.store is not None
    due = float(int(time.time()))  # real time: executions are created on the real clock
    last = due - 60
    trigger_store.record_fire(
        engine.store,
        FireInfo(trigger_id=TID, outcome=FireOutcome.STARTED, scheduled_at=last, fired_at=last),
    )
    # What the killed process left: the execution of the fire due at T0 + 60, no fire.
    orphan = await engine.start(
        blueprint_id="nightly",
        config={"triggered_by": TID, "trigger": {"id": TID, "scheduled_at": due}},
    )
    await engine.wait(orphan)
    engine.triggers.start_runtime(clock=ManualClock(due + 0.5), rescan_seconds=0.05)
    try:
        fires = await wait_fires(engine, TID, 2)
        assert [(f.outcome, f.scheduled_at, f.execution_id) for f in fires[1:]] == [
            (FireOutcome.STARTED, due, orphan)
        ]
        listed = await engine.list_executions(blueprint_id="nightly")
        assert [s.execution_id for s in listed] == [orphan]  # no second run of that time
    finally:
        await engine.close()
