"""The transport seam: ``handle(request) -> reply`` plus ``events()``.

Modelled on httpx's ``BaseTransport``: the :class:`~app.api.Conductor` facade
does argument handling once and builds an operation (:mod:`app.operations`); a
transport only moves it to an engine and the reply back. ``direct`` calls the
engine in-process, ``ipc`` talks to the spawned main process over a pipe,
``http`` talks to ``conductor serve``. Every transport returns the same reply
models and raises the same :mod:`app.errors` types.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from app.blueprint import Blueprint
from app.events import Event
from app.operations import AnyReply, AnyRequest

#: A blueprint as it travels: the plain-dict (JSON) form of :class:`app.blueprint.Blueprint`.
BlueprintData = dict[str, Any]
#: What the facade hands a transport: a model (kept as is in-process) or its dict form.
BlueprintArg = Blueprint | BlueprintData


class Transport(ABC):
    """One way of reaching an engine.

    ``handle`` answers one request with its reply (or raises the typed error the
    engine raised); ``events`` replays recorded events after ``after_seq``, then
    follows live ones until the terminal one.
    """

    @abstractmethod
    async def handle(self, request: AnyRequest) -> AnyReply:
        """The engine's reply to ``request``."""

    @abstractmethod
    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Replay recorded events after ``after_seq``, then follow live ones until terminal."""

    @abstractmethod
    async def close(self) -> None:
        """Release the transport (and, for direct, flush and close the engine)."""
