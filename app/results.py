"""What an execution returns and what listings show.

``ExecutionResult`` keeps the seed's ``success``/``outputs``/``error`` and adds the
execution id, final status and one :class:`NodeResult` per node, so a caller can
see which node failed, how often it was tried and what it produced.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.errors import ErrorInfo
from app.states import ExecutionStatus, NodeStatus


class ExecutionConfig(BaseModel):
    """Per-run options: ``parallel=False`` runs one node at a time; ``debug_mode``
    records every node's input as well as its output.

    ``start_at`` runs that node and everything downstream of it ("run from here"),
    reusing the outputs that ``reuse_from`` (default: this blueprint's latest
    execution) recorded for the other nodes — except nodes whose definition
    changed since, which run again with their downstream.
    """

    model_config = ConfigDict(extra="forbid")

    parallel: bool = True
    debug_mode: bool = False
    concurrency: int | None = Field(default=None, ge=1, le=10_000)
    timeout: float | None = Field(default=None, gt=0)
    start_at: str | None = None
    reuse_from: str | None = None


class NodeResult(BaseModel):
    """The outcome of one node in one execution."""

    node_id: str
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    output: Any = None
    input: Any = None
    error: ErrorInfo | None = None
    port: str | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) * 1000.0


class ExecutionResult(BaseModel):
    """The result of ``execute`` / ``get_execution``: the seed's fields plus detail."""

    execution_id: str
    blueprint_id: str
    status: ExecutionStatus
    success: bool
    outputs: Any = None
    error: ErrorInfo | None = None
    nodes: dict[str, NodeResult] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    blueprint_hash: str | None = None
    #: While ``pending`` behind the engine's limit on executions at once: 1 starts next.
    queue_position: int | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) * 1000.0


class ExecutionSummary(BaseModel):
    """One row of ``list_executions`` (no node data)."""

    execution_id: str
    blueprint_id: str
    blueprint_name: str | None = None
    status: ExecutionStatus
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: ErrorInfo | None = None


class BlueprintSummary(BaseModel):
    """One row of ``list_blueprints``."""

    id: str
    name: str | None = None
    description: str = ""
    source: str  # "user" (data dir) or "example" (bundled)
    path: str | None = None


class NodeTypeInfo(BaseModel):
    """What the editor and ``conductor nodes`` need to know about a node type."""

    type: str
    title: str
    category: str
    description: str = ""
    params_schema: dict[str, Any] = Field(default_factory=dict)
    ports: list[str] = Field(default_factory=list)
    dynamic_ports: bool = False
    runner: str = "inline"
