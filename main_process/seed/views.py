"""The seed's state shapes: what :class:`main_process.seed.StateManager` hands out.

They are snapshots, taken when asked for, of the engine's own execution state
(:class:`main_process.engine.execution_state.ExecutionState`): the seed's field
names, ``datetime`` timestamps (UTC), and plain dicts where the seed had ``Map``s.
Changing one changes nothing; state changes go through the manager's methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.states import ExecutionStatus, NodeStatus
from main_process.engine import execution_state as engine


def to_datetime(ts: float | None) -> datetime | None:
    """A store timestamp (seconds since the epoch) as an aware UTC datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The variables as they were when the checkpoint was taken, named by a node."""

    node_id: str | None
    timestamp: datetime
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NodeState:
    """One node as the seed tracks it. ``retry_count`` counts its recorded errors and
    the engine's retries; ``last_error`` is the latest error's message."""

    node_id: str
    status: NodeStatus
    start_time: datetime | None = None
    end_time: datetime | None = None
    retry_count: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutionState:
    """One execution as the seed tracks it. ``start_time`` is when it started running,
    or when it was created if it has not."""

    execution_id: str
    blueprint_id: str
    status: ExecutionStatus
    start_time: datetime
    end_time: datetime | None = None
    node_states: dict[str, NodeState] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)


def node_view(node: engine.NodeState) -> NodeState:
    return NodeState(
        node_id=node.node_id,
        status=node.status,
        start_time=to_datetime(node.started_at),
        end_time=to_datetime(node.finished_at),
        retry_count=node.retry_count,
        last_error=None if node.error is None else node.error.message,
    )


def checkpoint_view(checkpoint: engine.Checkpoint) -> Checkpoint:
    timestamp = to_datetime(checkpoint.created_at)
    assert timestamp is not None
    return Checkpoint(
        node_id=checkpoint.name,
        timestamp=timestamp,
        state=dict(checkpoint.snapshot.get("variables", {})),
    )


def execution_view(state: engine.ExecutionState) -> ExecutionState:
    start = to_datetime(state.started_at if state.started_at is not None else state.created_at)
    assert start is not None
    return ExecutionState(
        execution_id=state.execution_id,
        blueprint_id=state.blueprint.id,
        status=state.status,
        start_time=start,
        end_time=to_datetime(state.finished_at),
        node_states={nid: node_view(n) for nid, n in state.nodes.items()},
        variables=dict(state.variables),
        checkpoints=[checkpoint_view(c) for c in state.checkpoints],
    )
