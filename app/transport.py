"""The transport seam: one small abstract class every way of reaching the engine implements.

Modelled on httpx's ``BaseTransport``: the :class:`~app.api.Conductor` facade does
argument handling once, and a transport only moves requests to an engine and
results back. ``direct`` calls the engine in-process, ``ipc`` talks to the spawned
main process over a pipe, ``http`` talks to ``conductor serve``. Every transport
returns the same models and raises the same :mod:`app.errors` types.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from app.blueprint import Blueprint
from app.errors import Problem
from app.events import Event
from app.results import (
    BlueprintSummary,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
)

#: A blueprint as it travels: the plain-dict (JSON) form of :class:`app.blueprint.Blueprint`.
BlueprintData = dict[str, Any]
#: What the facade hands a transport: a model (kept as is in-process) or its dict form.
BlueprintArg = Blueprint | BlueprintData


class Transport(ABC):
    """The engine's operations, as one transport carries them.

    ``blueprint`` arguments are models or plain dicts (the wire form); exactly one of
    ``blueprint_id`` and ``blueprint`` is given to ``execute``/``start``.
    ``config`` is the dict form of :class:`app.results.ExecutionConfig`.
    """

    @abstractmethod
    async def execute(
        self,
        *,
        blueprint_id: str | None,
        blueprint: BlueprintArg | None,
        inputs: dict[str, Any],
        config: dict[str, Any],
    ) -> ExecutionResult:
        """Run to a terminal state and return the result (failures are results, not raises)."""

    @abstractmethod
    async def start(
        self,
        *,
        blueprint_id: str | None,
        blueprint: BlueprintArg | None,
        inputs: dict[str, Any],
        config: dict[str, Any],
    ) -> str:
        """Start an execution and return its id at once."""

    @abstractmethod
    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Replay recorded events after ``after_seq``, then follow live ones until terminal."""

    @abstractmethod
    async def wait(self, execution_id: str) -> ExecutionResult:
        """Wait for an execution to reach a terminal state and return its result."""

    @abstractmethod
    async def cancel(self, execution_id: str) -> bool:
        """Ask a running execution to stop; False when it had already finished."""

    @abstractmethod
    async def resume(self, execution_id: str, *, wait: bool = True) -> ExecutionResult:
        """Re-run the nodes of an interrupted/failed/cancelled execution that did not complete."""

    @abstractmethod
    async def get_execution(self, execution_id: str) -> ExecutionResult:
        """The current state of one execution (running or finished)."""

    @abstractmethod
    async def node_output(
        self, execution_id: str, node_id: str, *, offset: int = 0, limit: int = 100
    ) -> OutputPage:
        """One page of a node's recorded output (never the whole of a large one)."""

    @abstractmethod
    async def list_executions(
        self,
        *,
        limit: int = 50,
        status: str | None = None,
        blueprint_id: str | None = None,
    ) -> list[ExecutionSummary]:
        """Recent executions, newest first."""

    @abstractmethod
    async def list_blueprints(self) -> list[BlueprintSummary]:
        """User blueprints in the data dir, then bundled examples."""

    @abstractmethod
    async def get_blueprint(self, blueprint_id: str) -> BlueprintData:
        """The blueprint with this id (data dir first, then examples)."""

    @abstractmethod
    async def save_blueprint(self, blueprint: BlueprintArg) -> BlueprintSummary:
        """Validate and store a blueprint in the data dir's library under its id."""

    @abstractmethod
    async def delete_blueprint(self, blueprint_id: str) -> None:
        """Remove a user blueprint from the data dir's library."""

    @abstractmethod
    async def validate(self, blueprint: BlueprintArg) -> list[Problem]:
        """Every problem in the blueprint, each with its place; empty when valid."""

    @abstractmethod
    async def node_types(self) -> list[NodeTypeInfo]:
        """Every registered node type with its params JSON schema."""

    @abstractmethod
    async def close(self) -> None:
        """Release the transport (and, for direct, flush and close the engine)."""
