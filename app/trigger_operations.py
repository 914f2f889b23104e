"""The trigger operations' requests and replies (see :mod:`app.operations`, whose
unions carry them): list triggers, set one's state, fire one now, and the held
fires of suspended triggers."""

from __future__ import annotations

from typing import Literal

from app.operation_base import Operation as _Operation
from app.triggers import FireInfo, HeldAction, HeldFire, TriggerInfo, TriggerState


class ListTriggersRequest(_Operation):
    """The triggers of the data dir's blueprints, with their state and fires."""

    method: Literal["list_triggers"] = "list_triggers"


class SetTriggerStateRequest(_Operation):
    """Enable, disable or suspend a trigger (runtime state, not in the file)."""

    method: Literal["set_trigger_state"] = "set_trigger_state"
    trigger_id: str
    state: TriggerState


class FireTriggerRequest(_Operation):
    """Fire a trigger now, whatever its state; the fire (with its execution id)."""

    method: Literal["fire_trigger"] = "fire_trigger"
    trigger_id: str


class HeldFiresRequest(_Operation):
    """The held fires of suspended triggers (of one trigger when given)."""

    method: Literal["held_fires"] = "held_fires"
    trigger_id: str | None = None


class SettleHeldFireRequest(_Operation):
    """Release (run now) or discard one held fire."""

    method: Literal["settle_held_fire"] = "settle_held_fire"
    held_id: int
    action: HeldAction


class TriggersReply(_Operation):
    method: Literal["list_triggers"] = "list_triggers"
    result: list[TriggerInfo]


class TriggerReply(_Operation):
    method: Literal["set_trigger_state"] = "set_trigger_state"
    result: TriggerInfo


class FireReply(_Operation):
    method: Literal["fire_trigger", "settle_held_fire"] = "fire_trigger"
    result: FireInfo


class HeldFiresReply(_Operation):
    method: Literal["held_fires"] = "held_fires"
    result: list[HeldFire]
