"""Applying ``config.inject``: the faults a run asked for (see :mod:`app.fault_injection`).

Checked when the run starts (every node id must name a node; ``timeout`` needs a node
with a timeout), and applied by :class:`~main_process.engine.node_running.NodeRunner`
at the start of each attempt, inside the node's timeout — so an injected ``timeout``
is ended by the same timer, with the same ``NodeTimeoutError``, retries and events as
a real one, and ``slow`` past the timeout times out too.
"""

from __future__ import annotations

import asyncio

from app.blueprint import Blueprint
from app.errors import ConfigError, InjectedFaultError, NodeTimeoutError
from app.fault_injection import FaultKind, Injection, parse_injection
from app.results import ExecutionConfig
from main_process.engine.plan import PlanNode
from main_process.engine.state_manager import StateManager

#: How long past its timeout an injected ``timeout`` sleeps (its timer fires first).
_PAST = 60.0


def check_injections(model: Blueprint, cfg: ExecutionConfig) -> None:
    """ConfigError for node ids in ``cfg.inject`` that name no node of ``model`` (all of
    them, at once), and for ``timeout`` on a node that has none."""
    if not cfg.inject:
        return
    unknown = [node_id for node_id in cfg.inject if model.node(node_id) is None]
    if unknown:
        raise ConfigError(
            f"inject names no node of blueprint {model.id!r}: {', '.join(map(repr, unknown))}",
            where="config.inject",
        )
    for node_id, spec in cfg.inject.items():
        node = model.node(node_id)
        assert node is not None
        if parse_injection(spec).kind is FaultKind.TIMEOUT and node.timeout is None:
            raise ConfigError(
                f"node {node_id!r} has no timeout, so it cannot time out: give it a "
                "timeout, or inject error",
                where=f"config.inject.{node_id}",
            )


def injections(cfg: ExecutionConfig) -> dict[str, Injection] | None:
    """The run's faults by node id (None when it injects none: the common case costs
    the node runner one ``None`` test)."""
    if not cfg.inject:
        return None
    return {node_id: parse_injection(spec) for node_id, spec in cfg.inject.items()}


async def apply(
    fault: Injection, node: PlanNode, attempt: int, states: StateManager, execution_id: str
) -> None:
    """Raise, stall or delay as ``fault`` says; returns when the node should run."""
    states.log_message(
        execution_id,
        node.id,
        f"injected fault: {fault.spec} (attempt {attempt})",
        "warning",
        fault=fault.spec,
    )
    if fault.kind is FaultKind.ERROR:
        raise InjectedFaultError(
            f"injected failure (inject {node.id}={fault.spec}); the node did not run",
            node_id=node.id,
        )
    if fault.kind is FaultKind.SLOW:
        await asyncio.sleep(fault.seconds)
        return
    # timeout: the node's own timer ends this sleep (check_injections saw it has one).
    limit = node.timeout if node.timeout is not None else 0.0
    await asyncio.sleep(limit + _PAST)
    raise NodeTimeoutError(
        f"injected timeout outlived the node's timeout of {limit:g} s", node_id=node.id
    )
