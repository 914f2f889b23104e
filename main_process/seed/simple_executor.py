"""The seed's ``SimpleExecutor``: nodes in order, each fed the previous output.

It is not a second executor. ``execute_blueprint`` runs the blueprint on an
:class:`~main_process.engine.engine.Engine` that records nothing
(``persist=False``): the engine's driver and node running, with the same retry,
timeout and runners as every other run, and an in-memory state manager. Only
the result has the seed's shape — ``outputs`` the last node's bare output,
``error`` the failure's message.

The input may be any value (a number, a string, a list, an object), where an
execution's inputs are a mapping: the blueprint runs behind one extra node,
:data:`SOURCE_ID`, whose output is the input value itself, so the first node
gets that value unchanged. Failure is fast: the first node that fails ends the
run (the engine's default ``on_error: fail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.blueprint import Blueprint, NodeSpec, Runner
from app.errors import ConfigError
from app.simple_nodes import create_simple_node
from main_process.engine.engine import Engine

#: The id of the node that hands the input value to the first node.
SOURCE_ID = "__simple_executor_input__"


@dataclass(frozen=True, slots=True)
class SimpleResult:
    """The seed's result: ``outputs`` is None unless ``success``; ``error`` is the
    failure's message, None on success."""

    success: bool
    outputs: Any = None
    error: str | None = None


def _source(value: Any) -> NodeSpec:
    async def give(_: Any) -> Any:
        return value

    return create_simple_node(SOURCE_ID, "seed.input", give, runner=Runner.INLINE)


def _with_source(blueprint: Blueprint | Mapping[str, Any], value: Any) -> Blueprint:
    model = blueprint if isinstance(blueprint, Blueprint) else Blueprint.model_validate(blueprint)
    if model.edges:
        raise ConfigError(
            "the SimpleExecutor runs nodes in order; run a blueprint with edges with "
            "conductor.execute",
            where="blueprint.edges",
        )
    if any(node.id == SOURCE_ID for node in model.nodes):
        raise ConfigError(f"node id {SOURCE_ID!r} is reserved", where="blueprint.nodes")
    return Blueprint.model_validate({**dict(model), "nodes": [_source(value), *model.nodes]})


class SimpleExecutor:
    """Runs sequential blueprints with the seed's result shape.

    One engine, made here (loading the node registry) so that a run pays only for
    running, serves every call; it belongs to the event loop of the first call.
    ``await close()`` (or ``async with``) ends its threads and worker processes.
    """

    def __init__(self, *, engine: Engine | None = None) -> None:
        self.engine = engine if engine is not None else Engine(persist=False)

    async def execute_blueprint(
        self, blueprint: Blueprint | Mapping[str, Any], input: Any = None
    ) -> SimpleResult:
        """Run ``blueprint``'s nodes in order, the first fed ``input``."""
        model = _with_source(blueprint, input)
        result = await self.engine.execute(blueprint=model)
        if result.success:
            return SimpleResult(success=True, outputs=result.outputs)
        message = result.error.message if result.error is not None else str(result.status)
        return SimpleResult(success=False, error=message)

    async def close(self) -> None:
        await self.engine.close()

    async def __aenter__(self) -> SimpleExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def create_simple_executor() -> SimpleExecutor:
    """The seed's ``new SimpleExecutor()``."""
    return SimpleExecutor()
