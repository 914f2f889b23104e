"""Fixtures for the built-in node tests: a concrete context and a way to run a node.

``RecordingContext`` is a real, minimal implementation of the ``NodeContext``
protocol (not a mock of anything under test): it holds what the engine would hand
a node and records what the node logs. ``run_node`` calls a registered type the
way the engine does — validate the params with the type's model, then await
``run`` if it is async, else call it on a worker thread (``thread`` runner) or
inline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.blueprint import Runner
from main_process.nodes.base import NodeContext
from main_process.nodes.registry import NodeRegistry, default_registry


@dataclass
class RecordingContext:
    """A NodeContext whose log lines and variables land in plain attributes.

    ``file_roots`` defaults to ``base_dir`` alone (resolved), as an engine confined
    to the blueprint's folder would have it.
    """

    base_dir: Path
    file_roots: tuple[Path, ...] = ()
    upstream: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    execution_id: str = "exec-test"
    node_id: str = "node"
    attempt: int = 1
    timeout: float | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.file_roots:
            self.file_roots = (self.base_dir.resolve(),)

    def log(self, message: str, level: str = "info", **data: Any) -> None:
        self.logs.append((level, message))

    def get_variable(self, key: str, default: Any = None) -> Any:
        return self.variables.get(key, default)

    def set_variable(self, key: str, value: Any) -> None:
        self.variables[key] = value


RunNode = Callable[..., Coroutine[Any, Any, Any]]


@pytest.fixture(scope="session")
def registry() -> NodeRegistry:
    return default_registry(plugins=False)


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    return RecordingContext(base_dir=tmp_path)


@pytest.fixture
def run_node(registry: NodeRegistry, ctx: RecordingContext) -> RunNode:
    """``await run_node(type, params, input, ctx=...)``: one node run, engine-style."""

    async def run(
        type_name: str,
        params: dict[str, Any],
        input: Any = None,
        *,
        ctx: NodeContext = ctx,
    ) -> Any:
        node_type = registry.get(type_name)
        model = node_type.params_model.model_validate(params)
        if node_type.is_async:
            return await node_type.run(model, input, ctx)
        if node_type.runner is Runner.THREAD:
            return await asyncio.to_thread(node_type.run, model, input, ctx)
        return node_type.run(model, input, ctx)

    return run
