"""Conductor's shared vocabulary and unified API.

``from app import conductor`` gives a lazily created default :class:`Conductor`
(transport ``auto``); ``create_conductor`` makes one with explicit settings.
Importing this package loads no engine and no Qt.
"""

from __future__ import annotations

from typing import Any as _Any

from app.api import Conductor, create_conductor
from app.blueprint import Blueprint, EdgeSpec, NodeSpec, RetryPolicy
from app.errors import (
    BlueprintError,
    BlueprintNotFoundError,
    ConductorError,
    ExecutionCancelledError,
    ExecutionNotFoundError,
    NodeFailedError,
    NodeTimeoutError,
    Problem,
    ResumeError,
)
from app.events import Event
from app.results import ExecutionConfig, ExecutionResult, NodeResult
from app.simple_nodes import create_simple_node
from app.states import ExecutionStatus, NodeStatus

__all__ = [
    "Blueprint",
    "BlueprintError",
    "BlueprintNotFoundError",
    "Conductor",
    "ConductorError",
    "EdgeSpec",
    "Event",
    "ExecutionCancelledError",
    "ExecutionConfig",
    "ExecutionNotFoundError",
    "ExecutionResult",
    "ExecutionStatus",
    "NodeFailedError",
    "NodeResult",
    "NodeSpec",
    "NodeStatus",
    "NodeTimeoutError",
    "Problem",
    "ResumeError",
    "RetryPolicy",
    "conductor",
    "create_conductor",
    "create_simple_node",
]

_default: Conductor | None = None


def __getattr__(name: str) -> _Any:
    """Create the module-level ``conductor`` on first use, not at import."""
    global _default
    if name == "conductor":
        if _default is None:
            _default = create_conductor()
        return _default
    raise AttributeError(f"module 'app' has no attribute {name!r}")
