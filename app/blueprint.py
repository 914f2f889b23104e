"""The blueprint format: pydantic models for the JSON/YAML documents users write.

A blueprint is data. The models check shape only (types, unknown fields, ranges);
meaning — duplicate ids, unknown node types, cycles, params against each type's
model, template names — is checked by :mod:`app.validation`, which reports every
problem at once. ``ui`` holds editor layout and is excluded from the content hash,
so moving a node on the canvas never blocks a resume.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic_core import PydanticSerializationError

from app.automation_spec import ConcurrencySpec, TriggerSpec


class JoinRule(StrEnum):
    """When a node with upstreams runs once all of them are finished."""

    ALL_SUCCESS = "all_success"
    NONE_FAILED = "none_failed"
    ANY_SUCCESS = "any_success"
    ALL_DONE = "all_done"


class OnError(StrEnum):
    """What a node's failure does to the execution."""

    FAIL = "fail"
    CONTINUE = "continue"


class Runner(StrEnum):
    """Where a node's code runs: on the engine loop, on a worker thread, in a worker
    process (killed at the node's timeout, so blocking code really stops), or on a
    Dask distributed cluster (``--dask-scheduler``; see :mod:`main_process.runners.dask_runner`)."""

    INLINE = "inline"
    THREAD = "thread"
    PROCESS = "process"
    DASK = "dask"


class _Model(BaseModel):
    #: ``defer_build``: validators are built on first use, not at import (the pipe
    #: worker starts without validating a blueprint; see ``bench/startup.py``).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class RetryPolicy(_Model):
    """Retry a failing node: ``delay * backoff**(attempt-1)`` seconds between tries."""

    max_attempts: int = Field(default=1, ge=1, le=100)
    delay: float = Field(default=0.0, ge=0.0, le=3600.0)
    backoff: float = Field(default=1.0, ge=1.0, le=100.0)
    jitter: float = Field(default=0.0, ge=0.0, le=1.0)
    max_delay: float = Field(default=300.0, ge=0.0)

    def delay_before(self, attempt: int, rand: float = 0.0) -> float:
        """Seconds to wait before ``attempt`` (2, 3, ...); ``rand`` in [0, 1) adds jitter."""
        base = min(self.delay * (self.backoff ** max(attempt - 2, 0)), self.max_delay)
        return base * (1.0 + self.jitter * (2.0 * rand - 1.0)) if self.jitter else base


class InputSpec(_Model):
    """One declared blueprint input."""

    type: Literal["string", "number", "integer", "boolean", "object", "array", "any"] = "any"
    default: Any = None
    description: str = ""
    required: bool = False


class NodeSpec(_Model):
    """One node: a registered type, its params, and how it runs."""

    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1)
    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    retry: RetryPolicy | None = None
    timeout: float | None = Field(default=None, gt=0)
    when: JoinRule = JoinRule.ALL_SUCCESS
    on_error: OnError = OnError.FAIL
    runner: Runner | None = None
    #: Bypassed: the node does not run, its input passes through (ends ``skipped``,
    #: reason ``disabled``). Part of the hash; left out of the JSON while false, so
    #: enabling a node gives back the hash it had before.
    disabled: bool = Field(default=False, exclude_if=lambda value: not value)
    #: A streamed output's record: ``summary`` (count, bytes, first items) or ``full``
    #: (every chunk, paged in the data tab and used by resume). Left out while unset.
    record: Literal["summary", "full"] | None = Field(
        default=None, exclude_if=lambda value: value is None
    )

    #: A Python callable for code-defined nodes (``create_simple_node``); never serialised,
    #: so such a blueprint runs only in the process that built it.
    _function: Callable[..., Any] | None = PrivateAttr(default=None)
    #: A code-defined node called once per item of a stream (``create_simple_node(per_item=True)``).
    _per_item: bool = PrivateAttr(default=False)

    @property
    def function(self) -> Callable[..., Any] | None:
        # Read the private dict directly: pydantic's __getattr__ path costs ~7 us.
        private = self.__pydantic_private__
        return private.get("_function") if private else None


class EdgeSpec(_Model):
    """A dependency: ``target`` runs after ``source`` (through ``source_port`` if set)."""

    source: str
    target: str
    source_port: str | None = None


class UiSpec(BaseModel):
    """Editor layout and pinned outputs; ignored by the content hash.

    ``pins`` (n8n's pinned data) maps node ids to a JSON value a run uses as that
    node's output instead of running it, only when its config says ``use_pins``
    (the app's manual runs; never triggers or error handlers).
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    positions: dict[str, tuple[float, float]] = Field(default_factory=dict)
    pins: dict[str, Any] = Field(default_factory=dict, exclude_if=lambda value: not value)


#: Fields the engine's content hash leaves out: layout and what starts an execution.
_NOT_HASHED = {"ui", "triggers"}


class Blueprint(_Model):
    """A workflow: nodes, optional edges (else a sequence), inputs and outputs."""

    id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    description: str = ""
    version: int = 1
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] | None = None
    outputs: dict[str, Any] | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    #: Schedules, webhooks and file watches that start this blueprint (outside the
    #: content hash, like ``ui``); left out of the JSON while empty.
    triggers: list[TriggerSpec] = Field(default_factory=list, exclude_if=lambda value: not value)
    concurrency: ConcurrencySpec | None = None
    #: A blueprint id started with the failure when an execution of this one fails.
    error_handler: str | None = None
    ui: UiSpec = Field(default_factory=UiSpec)

    @property
    def is_sequential(self) -> bool:
        """No ``edges`` key: nodes run in list order (the seed's SimpleExecutor)."""
        return self.edges is None

    def engine_json(self) -> bytes:
        """Everything the engine reads, as JSON (``ui`` and ``triggers`` excluded): what
        the hash covers.

        Raises BlueprintError, naming each place, when a value cannot be written as
        JSON (text that is not valid Unicode passes the ``Any`` fields' validation).
        """
        try:
            return self.__pydantic_serializer__.to_json(
                self, exclude=_NOT_HASHED, exclude_none=True
            )
        except PydanticSerializationError as exc:
            from app.errors import BlueprintError
            from app.shape_problems import unwritable_blueprint

            data = self.model_dump(exclude=_NOT_HASHED, exclude_none=True)
            error = unwritable_blueprint(data)
            if error is None:
                error = BlueprintError(
                    f"cannot write the blueprint as JSON: {exc}", where="blueprint"
                )
            raise error from None

    def content_hash(self) -> str:
        """A stable hash of everything the engine reads (``ui`` excluded).

        The JSON comes from pydantic's serializer in field order, with params in
        document order: cheap enough for every run (~0.2 ms for 100 nodes), and
        the same for the same file.
        """
        return digest(self.engine_json())

    def node(self, node_id: str) -> NodeSpec | None:
        """The node with this id, or None."""
        for spec in self.nodes:
            if spec.id == node_id:
                return spec
        return None


def digest(engine_json: bytes) -> str:
    """The content hash of a blueprint's :meth:`Blueprint.engine_json`."""
    return hashlib.sha256(engine_json).hexdigest()[:32]


def as_blueprint(value: Blueprint | dict[str, Any]) -> Blueprint:
    """Accept a model or a plain dict (the wire form), raising BlueprintError on bad shape."""
    if isinstance(value, Blueprint):
        return value
    from app.blueprint_files import parse_blueprint_data

    return parse_blueprint_data(value, source="<blueprint>")
