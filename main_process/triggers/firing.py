"""A trigger fired: start its execution, or hold or skip the fire, and record it.

:func:`fire` is the one way every kind of trigger starts work — schedules and file
watches (:mod:`main_process.triggers.runtime`), ``fire now`` (the operations) and
webhooks — so each fire is recorded the same way: a row in ``trigger_fires`` with
its scheduled time, the time it fired, the execution it started and its outcome.
:func:`record` records a fire decided elsewhere (a concurrency limit's skip).

The execution gets the trigger's ``inputs`` (beneath any the fire brings) and the
trigger context as ``{{ trigger.* }}``: ``id``, ``name``, ``kind``,
``blueprint_id``, ``scheduled_at``, ``fired_at`` and what the fire adds (a file's
``path`` and ``event``; a webhook's request). Both travel in the execution's config
(``triggered_by`` and ``trigger``), so History shows who started it and a resumed
run sees the same context.

A fire is recorded once its execution's record is committed; a process killed in
between leaves the execution without its fire, and its successor records that fire
with the execution it finds (by trigger and scheduled time) instead of starting a
second one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.automation_spec import TriggerSpec, trigger_id
from app.errors import ConductorError
from app.triggers import FireInfo, FireOutcome, HeldFire, TriggerState
from main_process.store import triggers as trigger_store

if TYPE_CHECKING:
    from main_process.engine.engine import Engine
    from main_process.store import Store

log = logging.getLogger(__name__)


def _store(engine: Engine) -> Store:
    if engine.store is None:
        raise ConductorError("triggers need an engine that records (persist=True)")
    return engine.store


async def record(engine: Engine, fire_info: FireInfo) -> FireInfo:
    """Record a fire decided elsewhere (for example skipped at a concurrency limit)."""
    await asyncio.to_thread(trigger_store.record_fire, _store(engine), fire_info)
    return fire_info


def trigger_context(
    blueprint_id: str,
    spec: TriggerSpec,
    *,
    scheduled_at: float | None,
    fired_at: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``{{ trigger.* }}`` holds for one fire: the times as epoch seconds (for
    arithmetic) and as ISO-8601 UTC text (for people: a report said "due 1733540400.0")."""
    return {
        "id": trigger_id(blueprint_id, spec.name),
        "name": spec.name,
        "kind": spec.kind,
        "blueprint_id": blueprint_id,
        "scheduled_at": scheduled_at,
        "fired_at": fired_at,
        "scheduled_time": None if scheduled_at is None else _iso(scheduled_at),
        "fired_time": _iso(fired_at),
        **(extra or {}),
    }


async def fire(
    engine: Engine,
    blueprint_id: str,
    spec: TriggerSpec,
    *,
    scheduled_at: float | None = None,
    context: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    force: bool = False,
    fired_at: float | None = None,
    detail: str | None = None,
) -> FireInfo:
    """Fire ``spec`` of ``blueprint_id`` now: start an execution when the trigger is
    enabled (or ``force``, a person's "fire now"), hold the fire when it is
    suspended, skip it when disabled; record and return what happened.

    ``context`` adds to ``{{ trigger.* }}``; ``inputs`` to the trigger's own inputs.
    An execution that cannot start (invalid inputs, an invalid blueprint) is a
    ``failed`` fire with the error as its detail, not an exception.
    """
    store = _store(engine)
    tid = trigger_id(blueprint_id, spec.name)
    when = time.time() if fired_at is None else fired_at
    ctx = trigger_context(
        blueprint_id, spec, scheduled_at=scheduled_at, fired_at=when, extra=context
    )
    run_inputs = {**spec.inputs, **(inputs or {})}
    states = await asyncio.to_thread(trigger_store.ensure_states, store, [tid], when)
    state = states[tid].state if tid in states else TriggerState.ENABLED
    if not force and state is TriggerState.DISABLED:
        return await record(
            engine,
            FireInfo(
                trigger_id=tid,
                outcome=FireOutcome.SKIPPED,
                scheduled_at=scheduled_at,
                fired_at=when,
                detail="the trigger is disabled",
            ),
        )
    if not force and state is TriggerState.SUSPENDED:
        held_id = await asyncio.to_thread(
            trigger_store.hold_fire, store, tid, scheduled_at, when, ctx, run_inputs
        )
        return await record(
            engine,
            FireInfo(
                trigger_id=tid,
                outcome=FireOutcome.HELD,
                scheduled_at=scheduled_at,
                fired_at=when,
                detail=f"held fire {held_id}",
            ),
        )
    return await start(
        engine,
        blueprint_id,
        tid,
        ctx,
        run_inputs,
        scheduled_at=scheduled_at,
        fired_at=when,
        detail=detail,
    )


async def start(
    engine: Engine,
    blueprint_id: str,
    tid: str,
    context: dict[str, Any],
    inputs: dict[str, Any],
    *,
    scheduled_at: float | None,
    fired_at: float,
    detail: str | None = None,
) -> FireInfo:
    """Start the execution of one fire and record it (``started`` or ``failed``).

    A scheduled fire whose execution a killed process started but never recorded is
    recorded now with that execution, not started twice (exactly once per time)."""
    if scheduled_at is not None:
        store = _store(engine)
        earlier = await asyncio.to_thread(trigger_store.started_for, store, tid, scheduled_at)
        if earlier is not None:
            return await record(
                engine,
                FireInfo(
                    trigger_id=tid,
                    outcome=FireOutcome.STARTED,
                    scheduled_at=scheduled_at,
                    fired_at=fired_at,
                    execution_id=earlier,
                    detail="started before its process died; recorded on taking over",
                ),
            )
    try:
        execution_id = await engine.start(
            blueprint_id=blueprint_id,
            inputs=inputs,
            config={"triggered_by": tid, "trigger": context},
        )
    except ConductorError as exc:
        log.warning("trigger %s could not start %s: %s", tid, blueprint_id, exc)
        return await record(
            engine,
            FireInfo(
                trigger_id=tid,
                outcome=FireOutcome.FAILED,
                scheduled_at=scheduled_at,
                fired_at=fired_at,
                detail=str(exc),
            ),
        )
    return await record(
        engine,
        FireInfo(
            trigger_id=tid,
            outcome=FireOutcome.STARTED,
            scheduled_at=scheduled_at,
            fired_at=fired_at,
            execution_id=execution_id,
            detail=detail,
        ),
    )


async def release(engine: Engine, held: HeldFire, blueprint_id: str) -> FireInfo:
    """Start a held fire's execution now (it keeps its scheduled time and context)."""
    return await start(
        engine,
        blueprint_id,
        held.trigger_id,
        held.context,
        held.inputs,
        scheduled_at=held.scheduled_at,
        fired_at=time.time(),
        detail=f"released held fire {held.id}",
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
