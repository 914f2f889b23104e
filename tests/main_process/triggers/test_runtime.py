"""The trigger runtime on real engines: states, held fires, library changes, one
firing process per trigger, and file triggers on a watched temporary folder."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from app.errors import TriggerNotFoundError
from app.triggers import FireOutcome, HeldAction, TriggerState
from main_process.engine.engine import Engine
from main_process.store import triggers as trigger_store
from main_process.triggers.clock import ManualClock
from tests.main_process.triggers.helpers import wait_fires, wait_for, write_blueprint


async def _step(engine: Engine, clock: ManualClock, tid: str) -> None:
    """Move the clock to the trigger's next fire (once its loop has computed it)."""
    assert engine.store is not None
    store = engine.store

    def next_fire() -> float | None:
        row = trigger_store.read_states(store, [tid]).get(tid)
        return None if row is None else row.next_fire_at

    await wait_for(lambda: (next_fire() or 0) > clock.now())
    await clock.set(next_fire() or 0)


async def test_suspended_fires_are_held_then_released_or_discarded(home: Path) -> None:
    write_blueprint(home, "report", [{"kind": "schedule", "name": "hourly", "every": 3600}])
    engine = Engine(home, plugins=False)
    clock = ManualClock(time.time())
    try:
        await engine.triggers.set_state("report:hourly", TriggerState.SUSPENDED)
        engine.triggers.start_runtime(clock=clock, rescan_seconds=0.05)
        for _ in range(2):
            await _step(engine, clock, "report:hourly")
        fires = await wait_fires(engine, "report:hourly", 2)
        assert [f.outcome for f in fires] == [FireOutcome.HELD, FireOutcome.HELD]
        held = await engine.triggers.held("report:hourly")
        assert len(held) == 2
        assert all(h.context["name"] == "hourly" for h in held)
        [listed] = await engine.triggers.list()
        assert listed.held == 2 and listed.state is TriggerState.SUSPENDED

        released = await engine.triggers.settle_held(held[0].id, HeldAction.RELEASE)
        assert released.outcome is FireOutcome.STARTED
        result = await engine.wait(released.execution_id or "")
        assert result.outputs["scheduled_at"] == held[0].scheduled_at
        discarded = await engine.triggers.settle_held(held[1].id, HeldAction.DISCARD)
        assert discarded.outcome is FireOutcome.SKIPPED and discarded.execution_id is None
        assert await engine.triggers.held() == []
        with pytest.raises(TriggerNotFoundError):
            await engine.triggers.settle_held(held[1].id, HeldAction.RELEASE)
    finally:
        await engine.close()


async def test_a_disabled_trigger_is_not_armed_and_fire_now_still_runs(home: Path) -> None:
    write_blueprint(home, "report", [{"kind": "schedule", "name": "often", "every": 0.2}])
    engine = Engine(home, plugins=False)
    try:
        info = await engine.triggers.set_state("report:often", TriggerState.DISABLED)
        assert info.state is TriggerState.DISABLED and info.next_fire_at is None
        engine.triggers.start_runtime(rescan_seconds=0.05)
        await asyncio.sleep(0.6)  # several periods: nothing may fire
        assert engine.triggers.runtime is not None and engine.triggers.runtime.armed == []
        assert trigger_store.fires(engine.store) == []  # type: ignore[arg-type]
        fired = await engine.triggers.fire("report:often")
        assert fired.outcome is FireOutcome.STARTED
        result = await engine.wait(fired.execution_id or "")
        assert result.outputs["manual"] is True
        with pytest.raises(TriggerNotFoundError):
            await engine.triggers.fire("report:nope")
    finally:
        await engine.close()


async def test_blueprints_added_and_removed_are_picked_up(home: Path) -> None:
    engine = Engine(home, plugins=False)
    try:
        engine.triggers.start_runtime(rescan_seconds=0.05)
        runtime = engine.triggers.runtime
        assert runtime is not None
        path = write_blueprint(home, "late", [{"kind": "schedule", "name": "t", "every": 0.3}])
        await wait_for(lambda: runtime.armed == ["late:t"])
        await wait_fires(engine, "late:t", 2)
        path.unlink()
        await wait_for(lambda: runtime.armed == [])
    finally:
        await engine.close()


async def test_two_engines_on_one_data_dir_fire_each_time_once(home: Path) -> None:
    write_blueprint(home, "shared", [{"kind": "schedule", "name": "t", "every": 0.25}])
    first, second = Engine(home, plugins=False), Engine(home, plugins=False)
    try:
        first.triggers.start_runtime(rescan_seconds=0.05)
        second.triggers.start_runtime(rescan_seconds=0.05)
        await wait_fires(first, "shared:t", 4)
        await first.close()  # its lock is released: the other engine takes over
        assert second.triggers.runtime is not None
        await wait_for(lambda: second.triggers.runtime.armed == ["shared:t"])  # type: ignore[union-attr]
        fires = await wait_fires(second, "shared:t", 10)
        times = [f.scheduled_at for f in fires if f.outcome is FireOutcome.STARTED]
        assert len(times) == len(set(times)), "a scheduled time fired twice"
        assert all(b > a for a, b in itertools.pairwise(times))
    finally:
        await first.close()
        await second.close()


async def test_a_file_trigger_fires_once_per_saved_file(home: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_blueprint(
        home,
        "ingest",
        [{"kind": "file", "name": "csv", "folder": str(inbox), "glob": "*.csv"}],
        inputs={"path": {"type": "string", "default": ""}},
    )
    engine = Engine(home, plugins=False)
    try:
        engine.triggers.start_runtime(rescan_seconds=0.05)
        runtime = engine.triggers.runtime
        assert runtime is not None
        await wait_for(lambda: runtime.armed == ["ingest:csv"])
        base = await _watcher_ready(engine, inbox / "probe.csv")
        (inbox / "ignored.txt").write_text("no")
        target = inbox / "rows.csv"
        with target.open("w") as handle:  # one save, several writes
            handle.write("a,b\n")
            handle.flush()
            handle.write("1,2\n")
        await wait_fires(engine, "ingest:csv", base + 1)
        await asyncio.sleep(2.5)  # a second fire for the same save would have come by now
        fires = trigger_store.fires(engine.store, "ingest:csv")[base:]  # type: ignore[arg-type]
        assert len(fires) == 1, fires
        result = await engine.wait(fires[0].execution_id or "")
        assert result.outputs["path"] == str(target.resolve())
        assert result.outputs["event"] == "created"
        assert result.inputs["path"] == str(target.resolve())
        target.write_text("a,b\n3,4\n")  # a change is a new fire
        fires = await wait_fires(engine, "ingest:csv", base + 2)
        changed = await engine.wait(fires[base + 1].execution_id or "")
        assert changed.outputs["event"] == "modified"
    finally:
        await engine.close()


async def _watcher_ready(engine: Engine, probe: Path) -> int:
    """Save a probe file until the watcher (started on its own thread) reports it,
    then let its events settle; the number of fires so far."""
    assert engine.store is not None
    store = engine.store
    async with asyncio.timeout(60):
        attempt = 0
        while not trigger_store.fires(store, "ingest:csv"):
            attempt += 1
            probe.write_text(f"probe {attempt}\n")
            await asyncio.sleep(0.5)
    await asyncio.sleep(2.5)
    return len(trigger_store.fires(store, "ingest:csv"))


async def test_a_missing_folder_is_listed_as_the_triggers_error(home: Path, tmp_path: Path) -> None:
    write_blueprint(
        home, "ingest", [{"kind": "file", "name": "csv", "folder": str(tmp_path / "nowhere")}]
    )
    engine = Engine(home, plugins=False)
    try:
        [info] = await engine.triggers.list()
        assert info.error is not None and "triggers[csv].folder" in info.error
    finally:
        await engine.close()
