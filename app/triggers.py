"""The vocabulary of triggers at run time: their states, their fires, what is listed.

A trigger's *shape* is in the blueprint (:mod:`app.automation_spec`); what this
module names lives in the store: whether the trigger is enabled, when it fired and
what each fire became. Every transport carries these models, and the CLI and the
app read them, so states are StrEnums here rather than strings at their users.

Defaults (documented in the README's "Triggers" section): a trigger is ``enabled``
when first seen in the data dir's ``blueprints/`` folder (putting a file there is
the act of installing it; bundled examples are never run); ``disable`` stops it
firing and drops what it would have fired; ``suspend`` keeps its fires as *held
fires* for review (released: run now; discarded: dropped).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class TriggerState(StrEnum):
    """Whether a trigger fires."""

    ENABLED = "enabled"  # fires
    DISABLED = "disabled"  # does not fire; its fires are not kept
    SUSPENDED = "suspended"  # its fires are held for review (held fires)


class FireOutcome(StrEnum):
    """What became of one fire of a trigger."""

    STARTED = "started"  # an execution started (its id is recorded)
    SKIPPED = "skipped"  # deliberately not run (a concurrency limit, a discarded hold)
    HELD = "held"  # the trigger was suspended: kept as a held fire
    MISSED = "missed"  # fell while nothing ran the trigger, and the policy dropped it
    FAILED = "failed"  # could not start (invalid inputs, an invalid blueprint)


class HeldAction(StrEnum):
    """What to do with a held fire."""

    RELEASE = "release"  # start its execution now
    DISCARD = "discard"  # drop it (recorded as a skipped fire)


class _Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


class TriggerInfo(_Model):
    """One trigger as ``conductor triggers list`` and ``GET /v1/triggers`` show it."""

    id: str
    blueprint_id: str
    name: str
    kind: str  # "schedule" | "webhook" | "file"
    state: TriggerState
    #: What it fires on, in words (``every 60 s``, ``cron 0 9 * * * (Europe/Paris)``).
    describe: str = ""
    #: Epoch seconds of the next scheduled fire, as its firing process computed it.
    next_fire_at: float | None = None
    last_fire_at: float | None = None
    last_execution_id: str | None = None
    last_outcome: FireOutcome | None = None
    #: How the last fire's execution stands now (``completed``, ``failed`` ...): the
    #: outcome says only that it ``started``.
    last_status: str | None = None
    held: int = 0
    #: Why it cannot run (a missing folder), when it cannot.
    error: str | None = None


class FireInfo(_Model):
    """One fire: when it was due, when it fired, and what it became."""

    trigger_id: str
    outcome: FireOutcome
    scheduled_at: float | None = None
    fired_at: float
    execution_id: str | None = None
    detail: str | None = None


class HeldFire(_Model):
    """A suspended trigger's fire, kept until released or discarded."""

    id: int
    trigger_id: str
    scheduled_at: float | None = None
    held_at: float
    #: The trigger context the execution would get (``{{ trigger.* }}``).
    context: dict[str, Any]
    inputs: dict[str, Any]
