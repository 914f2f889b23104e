"""The trigger operations every transport answers: list, set state, fire now, and
the held fires of suspended triggers (list, release, discard).

They work on any engine over the data dir — a CLI's in-process one too — because
everything they read and write is in the store; the process that fires a trigger
(its lock holder) sees a state change at its next fire and its next look
(:class:`~main_process.triggers.runtime.TriggerRuntime`). The engine holds one
:class:`TriggerOps` and, in ``serve`` and the app's worker, its runtime.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from typing import TYPE_CHECKING

from app.errors import ConfigError, TriggerNotFoundError
from app.triggers import FireInfo, FireOutcome, HeldAction, HeldFire, TriggerInfo, TriggerState
from main_process.store import triggers as trigger_store
from main_process.triggers import firing
from main_process.triggers.catalog import Declared, declared_triggers, describe

if TYPE_CHECKING:
    from main_process.engine.engine import Engine
    from main_process.store import Store
    from main_process.triggers.clock import Clock
    from main_process.triggers.runtime import TriggerRuntime


class TriggerOps:
    """The engine's trigger operations, and the runtime when one is started."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.runtime: TriggerRuntime | None = None

    def start_runtime(self, *, clock: Clock | None = None, rescan_seconds: float = 1.0) -> None:
        """Fire this data dir's schedule and file triggers from this process (those
        whose locks it gets) until the engine closes. On the running loop."""
        if self.runtime is not None or self._engine.store is None:
            return
        from main_process.triggers.runtime import TriggerRuntime

        self.runtime = TriggerRuntime(self._engine, clock=clock, rescan_seconds=rescan_seconds)
        self.runtime.start()

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None

    def _store(self) -> Store:
        store = self._engine.store
        if store is None:
            raise ConfigError("this engine records nothing, so it keeps no triggers")
        return store

    async def _declared(self) -> builtins.list[Declared]:
        engine = self._engine
        return await asyncio.to_thread(declared_triggers, engine.library.user_dir, engine.home)

    async def _find(self, trigger_id: str) -> Declared:
        for declared in await self._declared():
            if declared.id == trigger_id:
                return declared
        raise TriggerNotFoundError(
            f"no trigger {trigger_id!r} in the blueprints of {self._engine.library.user_dir} "
            "(ids are <blueprint_id>:<name>; bundled examples' triggers do not run)",
            where="trigger_id",
        )

    async def list(self) -> builtins.list[TriggerInfo]:
        store = self._store()
        declared = await self._declared()
        now = time.time()
        states = await asyncio.to_thread(
            trigger_store.ensure_states, store, [d.id for d in declared], now
        )
        held = await asyncio.to_thread(trigger_store.held_counts, store)
        last_runs = [r.last_execution_id for r in states.values() if r.last_execution_id]
        statuses = await asyncio.to_thread(trigger_store.execution_statuses, store, last_runs)
        result = []
        for d in declared:
            row = states.get(d.id)
            result.append(
                TriggerInfo(
                    id=d.id,
                    blueprint_id=d.blueprint_id,
                    name=d.spec.name,
                    kind=d.spec.kind,
                    state=row.state if row else TriggerState.ENABLED,
                    describe=describe(d.spec),
                    next_fire_at=(
                        row.next_fire_at
                        if row and row.state is not TriggerState.DISABLED and d.error is None
                        else None
                    ),
                    last_fire_at=row.last_fire_at if row else None,
                    last_execution_id=row.last_execution_id if row else None,
                    last_outcome=row.last_outcome if row else None,
                    last_status=statuses.get(row.last_execution_id or "") if row else None,
                    held=held.get(d.id, 0),
                    error=d.error,
                )
            )
        return result

    async def get(self, trigger_id: str) -> TriggerInfo:
        for info in await self.list():
            if info.id == trigger_id:
                return info
        await self._find(trigger_id)  # raises
        raise AssertionError("unreachable")

    async def set_state(self, trigger_id: str, state: TriggerState) -> TriggerInfo:
        """Enable, disable or suspend a trigger (kept in the store, not in the file)."""
        await self._find(trigger_id)
        await asyncio.to_thread(
            trigger_store.set_state, self._store(), trigger_id, state, time.time()
        )
        if self.runtime is not None:
            self.runtime.nudge()
        return await self.get(trigger_id)

    async def fire(self, trigger_id: str) -> FireInfo:
        """Fire a trigger now, whatever its state (a person asked): its execution starts
        in this process. A webhook's or file's context is empty (no request, no file)."""
        declared = await self._find(trigger_id)
        return await firing.fire(
            self._engine,
            declared.blueprint_id,
            declared.spec,
            context={"manual": True},
            force=True,
            detail="fired by hand",
        )

    async def held(self, trigger_id: str | None = None) -> builtins.list[HeldFire]:
        if trigger_id is not None:
            await self._find(trigger_id)
        return await asyncio.to_thread(trigger_store.held_fires, self._store(), trigger_id)

    async def settle_held(self, held_id: int, action: HeldAction) -> FireInfo:
        """Release (start its execution now) or discard a held fire."""
        store = self._store()
        held = await asyncio.to_thread(trigger_store.take_held_fire, store, held_id)
        if held is None:
            raise TriggerNotFoundError(f"no held fire {held_id}", where="held_id")
        blueprint_id = held.trigger_id.rsplit(":", 1)[0]
        if action is HeldAction.RELEASE:
            return await firing.release(self._engine, held, blueprint_id)
        return await firing.record(
            self._engine,
            FireInfo(
                trigger_id=held.trigger_id,
                outcome=FireOutcome.SKIPPED,
                scheduled_at=held.scheduled_at,
                fired_at=time.time(),
                detail=f"held fire {held.id} discarded",
            ),
        )
