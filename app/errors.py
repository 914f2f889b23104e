"""Typed errors: every failure a user can cause ends in one of these.

Each error names *what* went wrong and *where* (a field path such as
``nodes[2].params.url``, a node id, a file and line). ``to_info()`` turns any of
them into the plain :class:`ErrorInfo` that crosses processes and lands in the
store, and :func:`error_from_info` turns it back, so a transport re-raises the
same type the engine raised.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Problem(BaseModel):
    """One validation problem with its place in the blueprint."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    where: str
    message: str
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ErrorInfo(BaseModel):
    """The serialisable form of an error (wire, store, results)."""

    model_config = ConfigDict(defer_build=True)

    type: str
    message: str
    where: str | None = None
    node_id: str | None = None
    problems: list[Problem] = []
    traceback: str | None = None


class ConductorError(Exception):
    """Base of every error Conductor raises on purpose."""

    #: Name used on the wire; subclasses override it.
    type_name: ClassVar[str] = "ConductorError"

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        node_id: str | None = None,
        traceback: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.node_id = node_id
        self.traceback = traceback

    def __str__(self) -> str:
        place = self.where or (f"node {self.node_id!r}" if self.node_id else None)
        return f"{place}: {self.message}" if place else self.message

    def to_info(self) -> ErrorInfo:
        return ErrorInfo(
            type=self.type_name,
            message=self.message,
            where=self.where,
            node_id=self.node_id,
            traceback=self.traceback,
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.type_name] = cls


_REGISTRY: dict[str, type[ConductorError]] = {}


class BlueprintError(ConductorError):
    """A blueprint could not be read or is invalid; lists every problem found."""

    type_name = "BlueprintError"

    def __init__(
        self,
        message: str,
        *,
        problems: list[Problem] | None = None,
        where: str | None = None,
        node_id: str | None = None,
        traceback: str | None = None,
    ) -> None:
        super().__init__(message, where=where, node_id=node_id, traceback=traceback)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"{head}\n{lines}"

    def to_info(self) -> ErrorInfo:
        info = super().to_info()
        info.problems = list(self.problems)
        return info


class BlueprintNotFoundError(ConductorError):
    """No blueprint with this id or path."""

    type_name = "BlueprintNotFoundError"


class BlueprintConflictError(ConductorError):
    """A library change that would break something: the new id is taken, or another
    blueprint runs the one being renamed or deleted."""

    type_name = "BlueprintConflictError"


class ExecutionNotFoundError(ConductorError):
    """No execution with this id in the store."""

    type_name = "ExecutionNotFoundError"


class TriggerNotFoundError(ConductorError):
    """No trigger with this id among the data dir's blueprints, or no such held fire."""

    type_name = "TriggerNotFoundError"


class CheckpointNotFoundError(ConductorError):
    """No checkpoint with this id or index in the execution."""

    type_name = "CheckpointNotFoundError"


class NodeTypeError(ConductorError):
    """A node type is unknown or was registered twice."""

    type_name = "NodeTypeError"


class TemplateError(ConductorError):
    """A template failed to parse or to render."""

    type_name = "TemplateError"


class NodeFailedError(ConductorError):
    """A node raised; ``node_id`` names it, ``where`` the node's place."""

    type_name = "NodeFailedError"


class NodeOutputError(NodeFailedError):
    """A node returned a value that is not JSON (bytes, a set, a cycle, an object, or
    nesting past the limit): ``where`` is its output's place, the message names the
    path of the bad value (``$.a[0].b``). Not retried: the same code returns the same."""

    type_name = "NodeOutputError"


class NodeTimeoutError(ConductorError):
    """A node ran past its timeout."""

    type_name = "NodeTimeoutError"


class InjectedFaultError(NodeFailedError):
    """A failure the run asked for (``config.inject`` / ``--inject node=error``): the
    node raised it instead of running, so its error paths can be tried on demand."""

    type_name = "InjectedFaultError"


class LlmError(NodeFailedError):
    """An ``llm.chat`` node's call failed; the subclasses say how. Messages never hold
    the node's API key (it is replaced by ``••••`` wherever a server echoes it)."""

    type_name = "LlmError"


class LlmConnectionError(LlmError):
    """The endpoint could not be reached (refused, DNS, TLS, no answer in time)."""

    type_name = "LlmConnectionError"


class LlmHttpError(LlmError):
    """The endpoint answered 4xx/5xx, or reported an error inside its stream; the
    message carries the server's own error message."""

    type_name = "LlmHttpError"


class LlmStreamError(LlmError):
    """The streamed reply was malformed or ended before its ``data: [DONE]``."""

    type_name = "LlmStreamError"


class LlmReplyError(LlmError):
    """The reply cannot be the node's output: not JSON when ``response_format`` is
    ``json``, not a chat completion, or larger than the value limit."""

    type_name = "LlmReplyError"


class ExecutionCancelledError(ConductorError):
    """The execution was cancelled before it finished."""

    type_name = "ExecutionCancelledError"


class ExecutionTimeoutError(ConductorError):
    """A whole ``execute`` call ran past the client's timeout."""

    type_name = "ExecutionTimeoutError"


class ResumeError(ConductorError):
    """An execution cannot be resumed (finished, blueprint changed, ...)."""

    type_name = "ResumeError"


class StoreError(ConductorError):
    """The store could not be opened or written."""

    type_name = "StoreError"


class OutputUnavailableError(StoreError):
    """A node's recorded output cannot be read back (its spilled file is missing or
    damaged). Only that node is affected: the rest of its execution shows, and a
    resume runs that node again."""

    type_name = "OutputUnavailableError"


class ConfigError(ConductorError):
    """Bad configuration or arguments (transport name, settings, CLI input)."""

    type_name = "ConfigError"


class NodeInputError(ConfigError):
    """A lone node (``only``) has no input: an upstream has neither a recorded
    output nor a pin, and no ``node_input`` was given; ``node_id`` names the node."""

    type_name = "NodeInputError"


class SecretError(ConfigError):
    """A secret's name or value was refused (see :mod:`app.secret_rules`), or the
    secret store could not be read or written."""

    type_name = "SecretError"


class SecretNotFoundError(ConductorError):
    """A secret is not set (``conductor secrets set NAME`` sets it)."""

    type_name = "SecretNotFoundError"


class TransportError(ConductorError):
    """A transport failed to reach the engine."""

    type_name = "TransportError"


class AuthError(TransportError):
    """The HTTP API refused the request's credentials (missing or wrong token)."""

    type_name = "AuthError"


class ConcurrencyLimitError(ConductorError):
    """A blueprint with ``concurrency: {on_limit: skip}`` is at its limit: the new
    execution was refused (nothing recorded); the message names the limit."""

    type_name = "ConcurrencyLimitError"


class EngineClosedError(ConductorError):
    """The engine was asked to work after it was closed (shutting down)."""

    type_name = "EngineClosedError"


def error_from_info(info: ErrorInfo) -> ConductorError:
    """Rebuild the typed error described by ``info`` (unknown types become the base)."""
    cls = _REGISTRY.get(info.type, ConductorError)
    if issubclass(cls, BlueprintError):
        return cls(
            info.message,
            problems=info.problems,
            where=info.where,
            node_id=info.node_id,
            traceback=info.traceback,
        )
    return cls(info.message, where=info.where, node_id=info.node_id, traceback=info.traceback)
