"""The trigger runtime: the loops that fire schedules and file watches.

Started by ``conductor serve`` and by the desktop app's worker (never by a CLI
run), over the engine it starts executions on. A supervisor task looks at the
data dir's ``blueprints/`` folder and at the triggers' states every
``rescan_seconds`` (real time): it arms each enabled or suspended schedule and file
trigger whose lock (:mod:`main_process.triggers.locks`) it can take, re-arms one
whose blueprint changed, and disarms one that was removed or disabled. So a
blueprint added, edited or deleted is picked up within that time, and a process
that dies hands its triggers to another within that time too.

A schedule's loop counts owed fires from its anchor (the last recorded fire, else
the time the trigger was first seen or enabled): those due within
:data:`GRACE_SECONDS` fire as usual; older ones were missed (the machine slept,
the app was closed) and follow the trigger's ``missed`` policy — ``skip`` records
them as missed, ``run_once`` fires the newest of them, ``run_all`` fires each (at
most ``max_catch_up``, the newest).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.automation_spec import FileTrigger, MissedFires, ScheduleTrigger
from app.triggers import FireInfo, FireOutcome, TriggerState
from main_process.store import triggers as trigger_store
from main_process.triggers import firing
from main_process.triggers.catalog import Declared, declared_triggers, folder_signature
from main_process.triggers.clock import Clock, SystemClock
from main_process.triggers.file_watch import watch_files
from main_process.triggers.locks import TriggerLock
from main_process.triggers.schedule import Due, due_between, next_after

if TYPE_CHECKING:
    from main_process.engine.engine import Engine

log = logging.getLogger(__name__)

#: A scheduled time at most this late when its loop sees it fires as usual; an older
#: one was missed.
GRACE_SECONDS = 1.0


@dataclass
class _Armed:
    declared: Declared
    lock: TriggerLock
    task: asyncio.Task[None]
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class TriggerRuntime:
    """Fires the schedule and file triggers this process holds the locks of."""

    def __init__(
        self, engine: Engine, *, clock: Clock | None = None, rescan_seconds: float = 1.0
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.rescan_seconds = rescan_seconds
        self._armed: dict[str, _Armed] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._declared: list[Declared] = []
        self._wake = asyncio.Event()

    @property
    def armed(self) -> list[str]:
        """The ids of the triggers this process fires right now."""
        return sorted(self._armed)

    def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name="conductor-triggers"
            )

    def nudge(self) -> None:
        """Look again now (a trigger's state changed in this process)."""
        self._wake.set()

    async def sync(self) -> None:
        """One look: arm, re-arm and disarm triggers to match the library and states."""
        engine = self.engine
        store = engine.store
        if store is None:
            return
        folder = engine.library.user_dir
        signature = await asyncio.to_thread(folder_signature, folder)
        if signature != self._signature:
            self._declared = await asyncio.to_thread(declared_triggers, folder, engine.home)
            self._signature = signature
        runnable = [
            d
            for d in self._declared
            if d.error is None and isinstance(d.spec, ScheduleTrigger | FileTrigger)
        ]
        states = await asyncio.to_thread(
            trigger_store.ensure_states, store, [d.id for d in runnable], self.clock.now()
        )
        wanted = {
            d.id: d
            for d in runnable
            if d.id in states and states[d.id].state is not TriggerState.DISABLED
        }
        for tid in list(self._armed):
            armed = self._armed[tid]
            if tid not in wanted or wanted[tid] != armed.declared or armed.task.done():
                await self._disarm(tid)
        for tid, declared in wanted.items():
            if tid not in self._armed:
                lock = TriggerLock(engine.home, tid)
                if lock.acquire():
                    self._arm(declared, lock)

    def _arm(self, declared: Declared, lock: TriggerLock) -> None:
        stop = asyncio.Event()
        if isinstance(declared.spec, ScheduleTrigger):
            body = self._run_schedule(declared, declared.spec)
        else:
            assert isinstance(declared.spec, FileTrigger)
            body = watch_files(self.engine, declared, declared.spec, stop)
        task = asyncio.get_running_loop().create_task(body, name=f"trigger {declared.id}")
        self._armed[declared.id] = _Armed(declared, lock, task, stop)

    async def _disarm(self, tid: str) -> None:
        armed = self._armed.pop(tid)
        armed.stop.set()
        armed.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await armed.task
        armed.lock.release()

    async def _supervise(self) -> None:
        while True:
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the trigger runtime could not look at the library")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.rescan_seconds)

    async def close(self) -> None:
        """Stop every loop and release every trigger lock (idempotent)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        for tid in list(self._armed):
            await self._disarm(tid)

    # -- schedules -----------------------------------------------------------------

    async def _run_schedule(self, declared: Declared, spec: ScheduleTrigger) -> None:
        store = self.engine.store
        assert store is not None
        now = self.clock.now()
        rows = await asyncio.to_thread(trigger_store.ensure_states, store, [declared.id], now)
        row = rows[declared.id]
        anchor = max(row.last_scheduled_at or row.since, row.since)
        while True:
            now = self.clock.now()
            due = due_between(spec, anchor, now, spec.max_catch_up)
            if due.times:
                try:
                    await self._settle(declared, spec, due, now)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("trigger %s could not fire", declared.id)
                anchor = due.times[-1]
                continue
            upcoming = next_after(spec, now, anchor)
            await asyncio.to_thread(trigger_store.set_next_fire, store, declared.id, upcoming)
            await self.clock.sleep_until(upcoming)

    async def _settle(
        self, declared: Declared, spec: ScheduleTrigger, due: Due, now: float
    ) -> None:
        """Fire what is due now, and apply the missed policy to what is late."""
        on_time = [t for t in due.times if now - t <= GRACE_SECONDS]
        late = [t for t in due.times if now - t > GRACE_SECONDS]
        late_total = due.total - len(on_time)
        to_fire: list[float] = []
        if late_total:
            if spec.missed is MissedFires.RUN_ALL:
                to_fire = late
            elif spec.missed is MissedFires.RUN_ONCE and not on_time:
                to_fire = late[-1:]
            missed = late_total - len(to_fire)
            if missed:
                passed_over = [t for t in late if t not in to_fire]
                await firing.record(
                    self.engine,
                    FireInfo(
                        trigger_id=declared.id,
                        outcome=FireOutcome.MISSED,
                        scheduled_at=max(passed_over) if passed_over else None,
                        fired_at=self.clock.now(),
                        detail=f"{missed} fire(s) missed while nothing ran this trigger "
                        f"(missed: {spec.missed.value})",
                    ),
                )
        for moment in to_fire:
            await firing.fire(
                self.engine,
                declared.blueprint_id,
                spec,
                scheduled_at=moment,
                context={"catch_up": True},
                fired_at=self.clock.now(),
                detail="catch-up of a missed fire",
            )
        for moment in on_time:
            await firing.fire(
                self.engine,
                declared.blueprint_id,
                spec,
                scheduled_at=moment,
                context={"catch_up": False},
                fired_at=self.clock.now(),
            )
