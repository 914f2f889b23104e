"""Resume (the DBOS model), and run from here: reuse what was recorded.

Resume re-runs only what has no recorded completion.

A resumed execution keeps its id and continues its event ``seq``. Nodes with a
recorded completion are not run again; their recorded outputs feed the nodes
that are. Resuming is refused when the blueprint changed since the execution
ran (its content hash, which ignores editor layout), because mixing outputs of
two different workflows would produce a result neither would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from app.blueprint import Blueprint
from app.errors import ConfigError, ResumeError
from app.partial_runs import nodes_to_run
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.execution_state import ExecutionState, NodeState
from main_process.engine.plan import Plan
from main_process.engine.state_manager import StateManager
from main_process.store.recovery import OwnerRow, claim_execution, owner_of, recover_orphans
from main_process.streams.resuming import stream_reruns

if TYPE_CHECKING:
    from main_process.engine.blueprints import BlueprintOps
from main_process.library import BlueprintLibrary
from main_process.store import Store, history
from main_process.store.history import output_unavailable
from main_process.store.serialization import is_unserializable


def ensure_resumable(state: ExecutionState) -> None:
    """Refuse executions that finished well or still run elsewhere."""
    eid = state.execution_id
    if state.status is ExecutionStatus.COMPLETED:
        raise ResumeError(
            f"execution {eid!r} already completed; nothing to resume", where="execution_id"
        )
    if not state.status.is_terminal:
        raise ResumeError(
            f"execution {eid!r} is running in another live process", where="execution_id"
        )


def current_blueprint(
    store: Store, library: BlueprintLibrary, cached: Iterable[Blueprint], state: ExecutionState
) -> Blueprint:
    """The blueprint a resume runs, refusing one whose content changed.

    Started by id: the library's current version (what a re-run would use).
    Given inline: the live model from this process's plan cache when there is one
    (it still carries code-defined nodes' functions), else the recorded copy.
    """
    eid = state.execution_id
    current = state.blueprint
    if history.execution_source(store, eid) == "id":
        if library.find(state.blueprint.id) is not None:
            current = library.load(state.blueprint.id)
    else:
        for blueprint in cached:
            if blueprint.content_hash() == state.blueprint_hash:
                current = blueprint
                break
    digest = current.content_hash()
    if digest != state.blueprint_hash:
        raise ResumeError(
            f"blueprint {current.id!r} changed since execution {eid!r} ran "
            f"(hash {state.blueprint_hash} then, {digest} now); resuming could mix "
            "results of two different workflows — run it again instead",
            where="blueprint",
        )
    return current


def reusable(node: NodeState) -> bool:
    """A recorded completion whose output can be fed to other nodes: not a placeholder
    for a value that could not be recorded, nor an output whose file is gone."""
    return (
        node.status is NodeStatus.COMPLETED
        and not is_unserializable(node.output)
        and not output_unavailable(node.error)
    )


def take_recorded_outcomes(state: ExecutionState) -> dict[str, tuple[Any, str | None]]:
    """``{node_id: (output, port)}`` of recorded completions; every other node and the
    execution itself are reset to ``pending`` for the new run."""
    completed: dict[str, tuple[Any, str | None]] = {}
    for node_id, node in state.nodes.items():
        if reusable(node):
            completed[node_id] = (node.output, node.port)
    for node_id in stream_reruns(state.blueprint, completed):  # re-run from the start
        del completed[node_id]
    for node_id, node in state.nodes.items():
        if node_id not in completed:
            node.status, node.error, node.finished_at = NodeStatus.PENDING, None, None
    state.status, state.error, state.outputs, state.finished_at = (
        ExecutionStatus.PENDING,
        None,
        None,
        None,
    )
    return completed


def reusable_outputs(
    states: StateManager, model: Blueprint, start_at: str | None, source: str | None
) -> tuple[str, dict[str, tuple[Any, str | None]]]:
    """For a run from ``start_at``: the execution reused (``source``, else the
    blueprint's latest finished one) and the recorded outputs it lends, which are
    those of every node that :func:`app.partial_runs.nodes_to_run` does not run."""
    if model.node(start_at or "") is None:
        raise ConfigError(
            f"start_at names no node of blueprint {model.id!r}: {start_at!r}",
            where="config.start_at",
        )
    if source is None:
        earlier = [
            s
            for s in states.list_executions(limit=20, blueprint_id=model.id)
            if s.status.is_terminal
        ]
        if not earlier:
            raise ConfigError(
                f"no earlier execution of blueprint {model.id!r} to reuse outputs from; "
                "run it whole first",
                where="config.reuse_from",
            )
        source = earlier[0].execution_id
    previous = load_reuse_source(states, model, source)
    recorded = {
        node_id: (node.output, node.port)
        for node_id, node in previous.nodes.items()
        if reusable(node)
    }
    run = nodes_to_run(model, previous.blueprint, recorded, start_at)
    lent = {nid: out for nid, out in recorded.items() if nid not in run}
    for node_id in stream_reruns(model, lent):  # a stream's summary feeds no consumer
        del lent[node_id]
    return source, lent


def load_reuse_source(states: StateManager, model: Blueprint, source: str) -> ExecutionState:
    """The execution ``source`` whose outputs a partial run of ``model`` reuses;
    refused (naming both) when it ran another blueprint, whose nodes are not these."""
    previous = states.load_execution(source)
    if previous.blueprint.id != model.id:
        raise ConfigError(
            f"reuse_from names execution {source!r} of blueprint "
            f"{previous.blueprint.id!r}, not of blueprint {model.id!r}: "
            "outputs are reused only from an execution of the same blueprint",
            where="config.reuse_from",
        )
    return previous


async def load_for_resume(
    store: Store, states: StateManager, owner_id: str, execution_id: str
) -> tuple[ExecutionState, OwnerRow | None]:
    """The recorded execution to resume, and its owner as read *before* the record
    (a claim on a stale read then fails): what is queued is committed first, and a
    dead owner's execution is marked interrupted."""
    await store.flush()
    await asyncio.to_thread(recover_orphans, store, owner_id, execution_id, strict=True)
    seen = await asyncio.to_thread(owner_of, store, execution_id)
    return await asyncio.to_thread(states.load_execution, execution_id), seen


async def take_over(
    store: Store,
    states: StateManager,
    ops: BlueprintOps,
    state: ExecutionState,
    seen: OwnerRow | None,
    owner_fields: dict[str, Any],
) -> tuple[Plan, dict[str, tuple[Any, str | None]]]:
    """Claim a checked execution for this engine and prepare its plan: the current
    blueprint (refused if its hash changed), the recorded outcomes to reuse, and
    the state adopted by this engine's recorder. The claim succeeds only if status
    and owner are still what was read, so two processes never both resume it."""
    recent = ops.plans.recent_blueprints()
    current = await asyncio.to_thread(current_blueprint, store, ops.library, recent, state)
    plan = ops.plan_for(current)
    if seen is not None:  # None: recorded in memory only (a store without it)
        await asyncio.to_thread(claim_execution, store, seen, state.status, owner_fields)
    completed = take_recorded_outcomes(state)
    state.blueprint = plan.blueprint
    states.adopt_execution(state)
    return plan, completed
