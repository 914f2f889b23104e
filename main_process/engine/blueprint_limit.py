"""A blueprint's own concurrency limit, across every process on one data dir.

``concurrency: {limit, on_limit}`` holds for every execution of the blueprint, however
it starts (execute or start on any transport, a trigger, a webhook, a resume). The
decisions live in the store (:mod:`main_process.store.slots`), so two processes on one
data dir share the limit; this module is the engine's side of them:

* :meth:`BlueprintLimits.enter` runs before the execution is recorded: ``skip`` at
  the limit raises :class:`~app.errors.ConcurrencyLimitError` (nothing recorded);
  ``cancel_oldest`` takes over the oldest running execution's slot and cancels that
  execution (which may still be finishing while the new one starts); ``queue`` lines
  the execution up.
  A resume takes a slot too (``skip`` waits in line instead: the execution is
  taken over by then).
* :meth:`SlotGate.acquire` is awaited by the driver before it runs anything (through
  :class:`GatedSlots`, the engine's execution slots behind the gate): a queued
  execution waits there, ``pending``. A slot freed in this process wakes its waiters
  at once; one freed in another process is seen by polling (20 ms, backing off to
  half a second), since SQLite has no cross-process notification.
* :meth:`SlotGate.release` runs when the execution's task ends, whatever ended it.

An engine without a store (``persist=False``) enforces no blueprint limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from app.automation_spec import OnLimit
from app.blueprint import Blueprint
from app.errors import ConcurrencyLimitError, ConductorError
from main_process.engine.limiter import Limiter
from main_process.store import Store, slots
from main_process.store.slots import Owner, SlotState

#: First and longest pause between two looks at the store while queued.
_POLL_FIRST, _POLL_MAX = 0.02, 0.5


class BlueprintLimits:
    """The engine's blueprint limits: admits executions and wakes local waiters."""

    def __init__(self, store: Store | None, owner: Owner) -> None:
        self.store = store
        self.owner = owner
        self._freed: dict[str, asyncio.Event] = {}

    async def enter(
        self,
        model: Blueprint,
        execution_id: str,
        cancel: Callable[[str], Awaitable[bool]],
        *,
        resuming: bool = False,
    ) -> SlotGate | None:
        """The execution's gate (None: the blueprint has no limit); raises
        ConcurrencyLimitError for ``on_limit: skip`` at the limit. A resume is never
        skipped (it has taken the execution over already): it waits in line."""
        spec = model.concurrency
        store = self.store
        if spec is None or store is None:
            return None
        on_limit = OnLimit.QUEUE if resuming and spec.on_limit is OnLimit.SKIP else spec.on_limit
        entry = await asyncio.to_thread(
            slots.enter, store, model.id, execution_id, self.owner, spec.limit, on_limit
        )
        if entry.state is None:
            raise ConcurrencyLimitError(
                f"blueprint {model.id!r} is at its concurrency limit of {spec.limit} "
                f"running execution(s) (on_limit: skip); nothing was started",
                where="concurrency.limit",
            )
        for victim in entry.evicted:
            with contextlib.suppress(ConductorError):  # finished meanwhile: nothing to do
                await cancel(victim)
        return SlotGate(self, model.id, execution_id, spec.limit, entry.state is SlotState.HELD)

    def freed(self, blueprint_id: str) -> asyncio.Event:
        """An event set the next time this process frees a slot of the blueprint."""
        event = self._freed.get(blueprint_id)
        if event is None:
            event = self._freed[blueprint_id] = asyncio.Event()
        return event

    def notify(self, blueprint_id: str) -> None:
        event = self._freed.pop(blueprint_id, None)
        if event is not None:
            event.set()


class SlotGate:
    """One execution's place under its blueprint's limit (held, or in line)."""

    def __init__(
        self, limits: BlueprintLimits, blueprint_id: str, execution_id: str, limit: int, held: bool
    ) -> None:
        self._limits = limits
        self.blueprint_id = blueprint_id
        self.execution_id = execution_id
        self.limit = limit
        self.held = held
        self._released = False

    async def acquire(self) -> None:
        """Return once the execution holds a slot (at once when it does already)."""
        store = self._limits.store
        assert store is not None
        delay = _POLL_FIRST
        owner_id = self._limits.owner.owner_id
        while not self.held:
            freed = self._limits.freed(self.blueprint_id)
            if await asyncio.to_thread(
                slots.try_take, store, self.blueprint_id, self.execution_id, owner_id, self.limit
            ):
                self.held = True
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(freed.wait(), delay)
            delay = min(delay * 2, _POLL_MAX)

    def release(self) -> None:
        """Free the slot or the place in line (idempotent). Synchronous: it runs in the
        ``finally`` of the execution's task, which may be being cancelled."""
        if self._released:
            return
        self._released = True
        store = self._limits.store
        if store is not None:
            with contextlib.suppress(ConductorError):  # a closed store: the owner lock goes too
                slots.leave(store, self.execution_id)
        self._limits.notify(self.blueprint_id)


class GatedSlots:
    """The engine's execution slots behind a blueprint's gate, as the driver takes
    them (``try_acquire``/``acquire``/``release``): the gate first, then an engine slot.
    Only the engine slot is given back by :meth:`release` (a paused execution keeps its
    blueprint slot); the gate is released when the run ends (:class:`Runs`)."""

    __slots__ = ("gate", "slots")

    def __init__(self, gate: SlotGate, slots: Limiter) -> None:
        self.gate = gate
        self.slots = slots

    def try_acquire(self) -> bool:
        return self.gate.held and self.slots.try_acquire()

    async def acquire(self) -> None:
        await self.gate.acquire()
        await self.slots.acquire()

    def release(self) -> None:
        self.slots.release()
