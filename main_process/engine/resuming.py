"""Resuming a recorded execution: take it over from its record and launch it.

Apart from :class:`~main_process.engine.engine.Engine`, which resumes an execution it
runs in place and hands everything else here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from app.errors import ResumeError
from app.results import ExecutionConfig
from app.states import ExecutionStatus
from main_process import faults
from main_process.engine.execution_state import ExecutionState
from main_process.engine.resume import ensure_resumable, load_for_resume, take_over
from main_process.engine.scope import resume_scope
from main_process.store.control import ControlAction
from main_process.store.recovery import ensure_paused_claimable

if TYPE_CHECKING:
    from main_process.engine.engine import Engine


async def resume_recorded(
    engine: Engine,
    execution_id: str,
    ask_owner: Callable[[str, ControlAction], Awaitable[bool]],
    *,
    child: bool,
) -> tuple[ExecutionState, bool]:
    """Re-run the nodes of a recorded execution that have no recorded completion:
    its state, and whether it was launched here (not when it is paused in another
    live process: ``ask_owner`` asked that owner to resume it)."""
    store = engine.store
    if store is None:
        raise ResumeError("this engine keeps no record to resume from", where="execution_id")
    state, seen = await load_for_resume(store, engine.states, engine.owner_id, execution_id)
    if state.status is ExecutionStatus.PAUSED:
        if await ask_owner(execution_id, ControlAction.RESUME):
            return state, False
        await asyncio.to_thread(ensure_paused_claimable, store, execution_id, engine.owner_id)
    else:
        ensure_resumable(state)
    plan, completed = await take_over(
        store, engine.states, engine.blueprint_ops, state, seen, engine.owner_fields
    )
    faults.fault_point("resume.before_run")
    cfg = ExecutionConfig.model_validate(state.config)
    scope = resume_scope(plan.blueprint, cfg, completed)
    gate = await engine.limits.enter(plan.blueprint, execution_id, engine.cancel, resuming=True)
    engine.runs.launch(plan, state, cfg, scope=scope, resumed=True, gate=gate, child=child)
    return state, True
