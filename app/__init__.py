"""Conductor's shared vocabulary and unified API.

``from app import conductor`` gives a lazily created default :class:`Conductor`
(transport ``auto``); ``create_conductor`` makes one with explicit settings.
Importing this package loads no engine and no Qt — nor, until a name is used,
the models and the API: the public names are loaded on first access.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing
from typing import Any as _Any

if _typing.TYPE_CHECKING:
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
    from app.output_handles import OutputHandle
    from app.results import ExecutionConfig, ExecutionResult, NodeResult
    from app.simple_nodes import create_simple_node
    from app.states import ExecutionStatus, NodeStatus

#: Where each public name lives. Loaded on first access (module ``__getattr__``), so
#: importing one light module of ``app`` — ``app.errors`` in the spawned worker,
#: ``app.states`` in the GUI — does not build every model and the API with it.
_EXPORTS: dict[str, str] = {
    "Conductor": "app.api",
    "create_conductor": "app.api",
    "Blueprint": "app.blueprint",
    "EdgeSpec": "app.blueprint",
    "NodeSpec": "app.blueprint",
    "RetryPolicy": "app.blueprint",
    "BlueprintError": "app.errors",
    "BlueprintNotFoundError": "app.errors",
    "ConductorError": "app.errors",
    "ExecutionCancelledError": "app.errors",
    "ExecutionNotFoundError": "app.errors",
    "NodeFailedError": "app.errors",
    "NodeTimeoutError": "app.errors",
    "Problem": "app.errors",
    "ResumeError": "app.errors",
    "Event": "app.events",
    "OutputHandle": "app.output_handles",
    "ExecutionConfig": "app.results",
    "ExecutionResult": "app.results",
    "NodeResult": "app.results",
    "create_simple_node": "app.simple_nodes",
    "ExecutionStatus": "app.states",
    "NodeStatus": "app.states",
}

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
    "OutputHandle",
    "Problem",
    "ResumeError",
    "RetryPolicy",
    "conductor",
    "create_conductor",
    "create_simple_node",
]

_default: Conductor | None = None


def __getattr__(name: str) -> _Any:
    """Load a public name on first use; create the module-level ``conductor`` on
    first use, not at import."""
    global _default
    if name == "conductor":
        if _default is None:
            from app.api import create_conductor

            _default = create_conductor()
        return _default
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'app' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
