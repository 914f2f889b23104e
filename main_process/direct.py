"""The ``direct`` transport: the engine in this process, called as it is.

Scripts and the CLI use it; the pipe worker and the HTTP server wrap the same
:class:`~main_process.engine.engine.Engine`, so every transport shares one behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from app.errors import Problem
from app.events import Event
from app.results import (
    BlueprintSummary,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
)
from app.transport import BlueprintArg, BlueprintData, Transport
from main_process.engine.engine import Engine


class DirectTransport(Transport):
    """The ``direct`` transport: the engine in this process, called as is."""

    def __init__(self, home: Path | str | None = None, **engine_options: Any) -> None:
        self.engine = Engine(home, **engine_options)

    async def execute(
        self,
        *,
        blueprint_id: str | None,
        blueprint: BlueprintArg | None,
        inputs: dict[str, Any],
        config: dict[str, Any],
    ) -> ExecutionResult:
        return await self.engine.execute(
            blueprint_id=blueprint_id, blueprint=blueprint, inputs=inputs, config=config
        )

    async def start(
        self,
        *,
        blueprint_id: str | None,
        blueprint: BlueprintArg | None,
        inputs: dict[str, Any],
        config: dict[str, Any],
    ) -> str:
        return await self.engine.start(
            blueprint_id=blueprint_id, blueprint=blueprint, inputs=inputs, config=config
        )

    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        return self.engine.events(execution_id, after_seq)

    async def wait(self, execution_id: str) -> ExecutionResult:
        return await self.engine.wait(execution_id)

    async def cancel(self, execution_id: str) -> bool:
        return await self.engine.cancel(execution_id)

    async def resume(self, execution_id: str, *, wait: bool = True) -> ExecutionResult:
        return await self.engine.resume(execution_id, wait=wait)

    async def get_execution(self, execution_id: str) -> ExecutionResult:
        return await self.engine.get_execution(execution_id)

    async def node_output(
        self, execution_id: str, node_id: str, *, offset: int = 0, limit: int = 100
    ) -> OutputPage:
        return await self.engine.node_output(execution_id, node_id, offset=offset, limit=limit)

    async def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        return await self.engine.list_executions(
            limit=limit, status=status, blueprint_id=blueprint_id
        )

    async def list_blueprints(self) -> list[BlueprintSummary]:
        return await self.engine.list_blueprints()

    async def get_blueprint(self, blueprint_id: str) -> BlueprintData:
        model = await self.engine.get_blueprint(blueprint_id)
        return model.model_dump(mode="json", exclude_none=True)

    async def save_blueprint(self, blueprint: BlueprintArg) -> BlueprintSummary:
        return await self.engine.save_blueprint(blueprint)

    async def delete_blueprint(self, blueprint_id: str) -> None:
        await self.engine.delete_blueprint(blueprint_id)

    async def validate(self, blueprint: BlueprintArg) -> list[Problem]:
        return await self.engine.validate(blueprint)

    async def node_types(self) -> list[NodeTypeInfo]:
        return await self.engine.node_types()

    async def close(self) -> None:
        await self.engine.close()
