"""Replies of the sub-blueprint and loop operations (issue 13): an execution's links
(its parent, its child executions, its loop nodes' iteration counts) and a page of
one loop node's iterations. Shared by every transport, the CLI and the app."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.errors import ErrorInfo
from app.states import ExecutionStatus, NodeStatus


class ChildExecution(BaseModel):
    """A child execution a ``blueprint.call`` node started."""

    model_config = ConfigDict(defer_build=True)

    execution_id: str
    parent_node_id: str | None = None
    blueprint_id: str
    status: ExecutionStatus
    created_at: float
    finished_at: float | None = None


class IterationCounts(BaseModel):
    """How far a loop node got: iterations recorded per outcome."""

    model_config = ConfigDict(defer_build=True)

    completed: int = 0
    failed: int = 0


class ExecutionLinks(BaseModel):
    """Where an execution sits among sub-blueprints, and its loops' progress."""

    model_config = ConfigDict(defer_build=True)

    execution_id: str
    parent_execution_id: str | None = None
    parent_node_id: str | None = None
    children: list[ChildExecution] = Field(default_factory=list)
    #: Loop node id → its recorded iterations.
    loops: dict[str, IterationCounts] = Field(default_factory=dict)


class Iteration(BaseModel):
    """One recorded iteration of a loop node."""

    model_config = ConfigDict(defer_build=True)

    index: int
    status: NodeStatus
    error: ErrorInfo | None = None
    finished_at: float
    #: Whether an output was recorded (it is sent only for the iteration asked for).
    has_output: bool = False
    output: Any = None


class IterationPage(BaseModel):
    """A page of a loop node's iterations, in index order."""

    model_config = ConfigDict(defer_build=True)

    execution_id: str
    node_id: str
    offset: int
    counts: IterationCounts
    items: list[Iteration]
