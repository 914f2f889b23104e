"""``conductor.triggers``: the trigger operations of the unified API.

A part of :class:`~app.api.Conductor` (composition: it asks through the
conductor's transport), so every transport offers the same calls::

    await conductor.triggers.list()
    await conductor.triggers.disable("report:nightly")
    fired = await conductor.triggers.fire("report:nightly")
"""

from __future__ import annotations

import builtins

from app.operation_base import Ask
from app.trigger_operations import (
    FireReply,
    FireTriggerRequest,
    HeldFiresReply,
    HeldFiresRequest,
    ListTriggersRequest,
    SettleHeldFireRequest,
    SetTriggerStateRequest,
    TriggerReply,
    TriggersReply,
)
from app.triggers import FireInfo, HeldAction, HeldFire, TriggerInfo, TriggerState


class TriggersApi:
    """The triggers of the data dir's blueprints, over one conductor's transport."""

    def __init__(self, ask: Ask) -> None:
        self._ask = ask

    async def list(self) -> list[TriggerInfo]:
        """Each trigger: state, what it fires on, next fire, last run, held fires."""
        reply: TriggersReply = await self._ask(ListTriggersRequest(), TriggersReply)
        return reply.result

    async def set_state(self, trigger_id: str, state: TriggerState | str) -> TriggerInfo:
        """Enable, disable or suspend a trigger (``<blueprint_id>:<name>``)."""
        request = SetTriggerStateRequest(trigger_id=trigger_id, state=TriggerState(state))
        reply: TriggerReply = await self._ask(request, TriggerReply)
        return reply.result

    async def enable(self, trigger_id: str) -> TriggerInfo:
        return await self.set_state(trigger_id, TriggerState.ENABLED)

    async def disable(self, trigger_id: str) -> TriggerInfo:
        return await self.set_state(trigger_id, TriggerState.DISABLED)

    async def suspend(self, trigger_id: str) -> TriggerInfo:
        return await self.set_state(trigger_id, TriggerState.SUSPENDED)

    async def fire(self, trigger_id: str) -> FireInfo:
        """Fire a trigger now, whatever its state; the fire, with its execution id."""
        reply: FireReply = await self._ask(FireTriggerRequest(trigger_id=trigger_id), FireReply)
        return reply.result

    async def held(self, trigger_id: str | None = None) -> builtins.list[HeldFire]:
        """The fires suspended triggers kept for review."""
        reply: HeldFiresReply = await self._ask(
            HeldFiresRequest(trigger_id=trigger_id), HeldFiresReply
        )
        return reply.result

    async def release(self, held_id: int) -> FireInfo:
        """Start a held fire's execution now."""
        return await self._settle(held_id, HeldAction.RELEASE)

    async def discard(self, held_id: int) -> FireInfo:
        """Drop a held fire (recorded as skipped)."""
        return await self._settle(held_id, HeldAction.DISCARD)

    async def _settle(self, held_id: int, action: HeldAction) -> FireInfo:
        request = SettleHeldFireRequest(held_id=held_id, action=action)
        reply: FireReply = await self._ask(request, FireReply)
        return reply.result
