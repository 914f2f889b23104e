"""In-memory state of active executions, and how it becomes results and events.

Events are kept as plain tuples (:data:`EventRow`) on the hot path — the same
tuple goes to the store's writer — and become :class:`~app.events.Event` models
only when someone reads or listens. A run nobody watches pays for no models.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.blueprint import Blueprint
from app.errors import ErrorInfo
from app.events import Event, make_event
from app.redaction import REDACTOR
from app.results import ExecutionResult, ExecutionSummary, NodeResult
from app.states import ExecutionStatus, NodeStatus
from main_process.store.chunks import EventRow

__all__ = [
    "Checkpoint",
    "EventRow",
    "ExecutionState",
    "NodeState",
    "Subscriber",
    "event_from_row",
]

Subscriber = Callable[[Event], None]


def event_from_row(row: EventRow) -> Event:
    return make_event(*row)


@dataclass(slots=True)
class NodeState:
    """One node's state in one execution; ``output`` is the live value."""

    node_id: str
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    port: str | None = None
    output: Any = None
    output_size: int | None = None
    input: Any = None
    input_json: bytes | None = None
    error: ErrorInfo | None = None
    #: Failed attempts the engine retried plus errors recorded by hand
    #: (:meth:`StateManager.record_node_error`): the seed's ``retryCount``.
    retry_count: int = 0

    def to_result(self) -> NodeResult:
        return NodeResult(
            node_id=self.node_id,
            status=self.status,
            attempts=self.attempts,
            started_at=self.started_at,
            finished_at=self.finished_at,
            output=self.output,
            input=self.input,
            error=self.error,
            port=self.port,
            output_size=self.output_size,
        )


@dataclass(slots=True, frozen=True)
class Checkpoint:
    """A snapshot of an execution: its variables and its completed nodes' outcomes.

    ``name`` is what the caller named it (the seed names it by a node id).
    """

    checkpoint_id: str
    name: str | None
    created_at: float
    snapshot: dict[str, Any]


@dataclass(slots=True)
class ExecutionState:
    """Everything known about one execution while it is active."""

    execution_id: str
    blueprint: Blueprint
    blueprint_hash: str
    inputs: dict[str, Any]
    config: dict[str, Any]
    status: ExecutionStatus = ExecutionStatus.PENDING
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    error: ErrorInfo | None = None
    outputs: Any = None
    nodes: dict[str, NodeState] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    #: The error handler execution this failed one started (see
    #: :mod:`main_process.engine.error_handlers`), and the one a handler handles.
    error_handler_execution: str | None = None
    handler_for: str | None = None
    #: Checkpoints taken while the execution was active here, oldest first.
    checkpoints: list[Checkpoint] = field(default_factory=list)
    seq: int = 0
    #: Recent events of this activation: older ones (earlier activations', and those
    #: trimmed once committed, see :meth:`EventLog._trim`) are read from the store.
    events: list[EventRow] = field(default_factory=list)
    listeners: list[Subscriber] = field(default_factory=list)
    #: Called with no argument on every new event (page-reading followers).
    watchers: list[Callable[[], None]] = field(default_factory=list)
    #: Events not delivered yet, in order: a held one (a node's completion, the
    #: terminal event) waits for the store's commit, and every later one waits behind it.
    undelivered: deque[EventRow] = field(default_factory=deque)
    #: The seqs of the held events among ``undelivered``.
    holding: set[int] = field(default_factory=set)
    #: Every event up to this seq is committed to the store (set by its writer thread),
    #: so ``events`` may drop them: a long run's log is read back from the store.
    committed_seq: int = 0
    #: A commit notice for ``committed_seq`` is on its way.
    commit_watch: bool = False
    #: A ``blueprint.call`` child's (parent execution, parent node); None otherwise.
    parent: tuple[str, str] | None = None

    def to_result(self) -> ExecutionResult:
        return ExecutionResult(
            execution_id=self.execution_id,
            blueprint_id=self.blueprint.id,
            status=self.status,
            success=self.status is ExecutionStatus.COMPLETED,
            outputs=self.outputs,
            error=self.error,
            nodes={nid: node.to_result() for nid, node in self.nodes.items()},
            inputs=REDACTOR.value(self.inputs),
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            blueprint_hash=self.blueprint_hash,
            config=REDACTOR.value(self.config),
            last_seq=self.seq,
            parent_execution_id=None if self.parent is None else self.parent[0],
            parent_node_id=None if self.parent is None else self.parent[1],
            error_handler_execution_id=self.error_handler_execution,
            handler_for=self.handler_for,
        )


def summaries(
    states: Iterable[ExecutionState], limit: int, status: str | None, blueprint_id: str | None
) -> list[ExecutionSummary]:
    """Listing rows of executions held in memory, newest first (an in-memory recorder's
    ``list_executions``)."""
    rows = [
        ExecutionSummary(
            execution_id=s.execution_id,
            blueprint_id=s.blueprint.id,
            blueprint_name=s.blueprint.name,
            status=s.status,
            created_at=s.created_at,
            started_at=s.started_at,
            finished_at=s.finished_at,
            error=s.error,
            inject=s.config.get("inject"),
            parent_execution_id=None if s.parent is None else s.parent[0],
            error_handler_execution_id=s.error_handler_execution,
            handler_for=s.handler_for,
        )
        for s in reversed(list(states))
        if (status is None or s.status == status)
        and (blueprint_id is None or s.blueprint.id == blueprint_id)
    ]
    return rows[:limit]
