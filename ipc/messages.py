"""Every message that crosses the pipe, as pydantic models in one discriminated union.

The wire is one JSON object per frame (multiprocessing's length-prefixed framing,
see :mod:`ipc.framing`), never pickled objects. Each message carries ``v`` (the protocol
version) and a ``kind``:

* ``request`` — client → worker: ``id`` (unique per client) and ``method``, one of
  the :class:`~app.transport.Transport` methods, with that method's typed params.
  Requests are a nested union on ``method``.
* ``result`` — worker → client: the answer to request ``id``, typed per method, so
  decoding re-validates ``ExecutionResult`` and friends on the receiving side.
* ``error`` — worker → client: request ``id`` failed with ``error`` (an
  :class:`~app.errors.ErrorInfo`, rebuilt as the same typed error). ``id`` is None
  for a bad frame whose id could not be read.
* ``events`` — worker → client: a batch of events for the ``events`` subscription
  ``id``. The subscription ends with its ``result`` (or ``error``).
* ``credit`` — client → worker: the subscriber took ``batches`` batches out of its
  bounded queue, so the worker may send that many more (flow control).
* ``abandon`` — client → worker: nobody waits for request ``id`` any more.
* ``hello`` — worker → client, once, when it is ready to serve.
* ``heartbeat`` — either way; the worker echoes it (a round-trip probe, never the
  way death is noticed: that is EOF on the pipe).

``decode`` raises :class:`~ipc.errors.ProtocolError` for anything else; receivers
reply with an ``error`` and go on serving.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from app.errors import ConductorError, ErrorInfo, Problem
from app.events import Event
from app.results import (
    BlueprintSummary,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
)
from app.shape_problems import unencodable_problems, unwritable_blueprint
from ipc.errors import ProtocolError
from ipc.frame_errors import diagnose, oversized_error, version_error
from ipc.protocol import (
    DEFAULT_ENTRY_POINT,
    DEFAULT_EVENT_WINDOW,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
)


class _Message(BaseModel):
    #: Built on first use: the worker's start path defines every message but sends
    #: only ``hello`` before its first request arrives.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    #: Protocol version; a received frame must carry it (checked in ``decode``).
    v: StrictInt = PROTOCOL_VERSION


# -- requests --------------------------------------------------------------------------


class RequestBase(_Message):
    kind: Literal["request"] = "request"
    id: int


class _RunParams(RequestBase):
    blueprint_id: str | None = None
    blueprint: dict[str, Any] | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)


class ExecuteRequest(_RunParams):
    method: Literal["execute"] = "execute"


class StartRequest(_RunParams):
    method: Literal["start"] = "start"


class WaitRequest(RequestBase):
    method: Literal["wait"] = "wait"
    execution_id: str


class EventsRequest(RequestBase):
    """Subscribe: replay events after ``after_seq``, then follow until the terminal one.
    ``window`` is the initial credit, in batches."""

    method: Literal["events"] = "events"
    execution_id: str
    after_seq: int = Field(default=0, ge=0)
    window: int = Field(default=DEFAULT_EVENT_WINDOW, ge=1, le=1024)


class CancelRequest(RequestBase):
    method: Literal["cancel"] = "cancel"
    execution_id: str


class ResumeRequest(RequestBase):
    method: Literal["resume"] = "resume"
    execution_id: str
    wait: bool = True


class GetExecutionRequest(RequestBase):
    method: Literal["get_execution"] = "get_execution"
    execution_id: str


class ListExecutionsRequest(RequestBase):
    method: Literal["list_executions"] = "list_executions"
    limit: int = 50
    status: str | None = None
    blueprint_id: str | None = None


class ListBlueprintsRequest(RequestBase):
    method: Literal["list_blueprints"] = "list_blueprints"


class GetBlueprintRequest(RequestBase):
    method: Literal["get_blueprint"] = "get_blueprint"
    blueprint_id: str


class SaveBlueprintRequest(RequestBase):
    method: Literal["save_blueprint"] = "save_blueprint"
    blueprint: dict[str, Any]


class DeleteBlueprintRequest(RequestBase):
    method: Literal["delete_blueprint"] = "delete_blueprint"
    blueprint_id: str


class ValidateRequest(RequestBase):
    method: Literal["validate"] = "validate"
    blueprint: dict[str, Any]


class NodeTypesRequest(RequestBase):
    method: Literal["node_types"] = "node_types"


class NodeOutputRequest(RequestBase):
    """One page of a node's output; bounds are checked by the engine, so every
    transport reports a bad ``offset``/``limit`` as the same ConfigError."""

    method: Literal["node_output"] = "node_output"
    execution_id: str
    node_id: str
    offset: int = 0
    limit: int = 100


Request = Annotated[
    ExecuteRequest
    | StartRequest
    | WaitRequest
    | EventsRequest
    | CancelRequest
    | ResumeRequest
    | GetExecutionRequest
    | ListExecutionsRequest
    | ListBlueprintsRequest
    | GetBlueprintRequest
    | SaveBlueprintRequest
    | DeleteBlueprintRequest
    | ValidateRequest
    | NodeTypesRequest
    | NodeOutputRequest,
    Field(discriminator="method"),
]


# -- results ---------------------------------------------------------------------------


class ReplyBase(_Message):
    kind: Literal["result"] = "result"
    id: int


class ExecutionReply(ReplyBase):
    method: Literal["execute", "wait", "resume", "get_execution"]
    result: ExecutionResult


class StartReply(ReplyBase):
    method: Literal["start"] = "start"
    result: str


class EventsEndReply(ReplyBase):
    """The subscription is over; ``result`` is the last seq it delivered."""

    method: Literal["events"] = "events"
    result: int


class CancelReply(ReplyBase):
    method: Literal["cancel"] = "cancel"
    result: bool


class ExecutionsReply(ReplyBase):
    method: Literal["list_executions"] = "list_executions"
    result: list[ExecutionSummary]


class BlueprintsReply(ReplyBase):
    method: Literal["list_blueprints"] = "list_blueprints"
    result: list[BlueprintSummary]


class BlueprintReply(ReplyBase):
    method: Literal["get_blueprint"] = "get_blueprint"
    result: dict[str, Any]


class SavedBlueprintReply(ReplyBase):
    method: Literal["save_blueprint"] = "save_blueprint"
    result: BlueprintSummary


class DeletedBlueprintReply(ReplyBase):
    method: Literal["delete_blueprint"] = "delete_blueprint"
    result: None = None


class ProblemsReply(ReplyBase):
    method: Literal["validate"] = "validate"
    result: list[Problem]


class NodeTypesReply(ReplyBase):
    method: Literal["node_types"] = "node_types"
    result: list[NodeTypeInfo]


class NodeOutputReply(ReplyBase):
    method: Literal["node_output"] = "node_output"
    result: OutputPage


Reply = Annotated[
    ExecutionReply
    | StartReply
    | EventsEndReply
    | CancelReply
    | ExecutionsReply
    | BlueprintsReply
    | BlueprintReply
    | SavedBlueprintReply
    | DeletedBlueprintReply
    | ProblemsReply
    | NodeTypesReply
    | NodeOutputReply,
    Field(discriminator="method"),
]


# -- everything else -------------------------------------------------------------------


class ErrorReply(_Message):
    kind: Literal["error"] = "error"
    id: int | None
    error: ErrorInfo


class EventBatch(_Message):
    kind: Literal["events"] = "events"
    id: int
    execution_id: str
    events: list[Event]


class Credit(_Message):
    kind: Literal["credit"] = "credit"
    id: int
    batches: int = Field(ge=1)


class Abandon(_Message):
    kind: Literal["abandon"] = "abandon"
    id: int


class Hello(_Message):
    kind: Literal["hello"] = "hello"
    pid: int


class Heartbeat(_Message):
    kind: Literal["heartbeat"] = "heartbeat"
    id: int


Message = Annotated[
    Request | Reply | ErrorReply | EventBatch | Credit | Abandon | Hello | Heartbeat,
    Field(discriminator="kind"),
]


@functools.cache
def message_adapter() -> TypeAdapter[Message]:
    """The union's validator, built on the first decode (~20 ms: not at import)."""
    return TypeAdapter(Message)


class WorkerConfig(BaseModel):
    """What the process handle tells a new worker. It crosses as a plain dict of
    strings and numbers (multiprocessing's spawn args), validated again in the child."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_point: str = DEFAULT_ENTRY_POINT
    home: str | None = None
    plugins: bool = True
    concurrency: int | None = Field(default=None, ge=1)
    global_concurrency: int | None = Field(default=None, ge=1)
    max_executions: int | None = Field(default=None, ge=1)
    max_threads: int | None = Field(default=None, ge=1)
    max_processes: int | None = Field(default=None, ge=1)
    base_dir: str | None = None
    #: Folders file and SQLite nodes may use; None: the engine's default.
    file_roots: list[str] | None = None
    max_frame_bytes: int = Field(default=MAX_FRAME_BYTES, ge=1024)


# -- encoding --------------------------------------------------------------------------


def _unserializable(value: Any) -> Any:
    """A value JSON cannot hold travels as the same marker the store uses."""
    return {"__unserializable__": repr(value)[:2000]}


def _unwritable(msg: Message) -> ConductorError:
    """The typed error for a message holding text no JSON writer takes (a lone
    surrogate): a request's blueprint gets the BlueprintError the engine raises for
    it, anything else a ProtocolError naming the first such place."""
    data = msg.model_dump(exclude_none=True)
    if msg.kind == "request" and (error := unwritable_blueprint(data.get("blueprint"))):
        return error
    problems = unencodable_problems(data)
    return ProtocolError(
        f"a {msg.kind} message holds values that cannot be written as JSON",
        where=f"frame.{problems[0].where}" if problems else "frame",
        request_id=getattr(msg, "id", None),
    )


def encode(msg: Message, *, max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """JSON bytes for one frame; ProtocolError when it would exceed ``max_bytes``, and
    a typed error naming the place when a value cannot be written at all."""
    # The model's own serializer: the same JSON as the union adapter's, at half the cost.
    try:
        data = msg.__pydantic_serializer__.to_json(msg, fallback=_unserializable)
    except PydanticSerializationError:
        raise _unwritable(msg) from None
    if len(data) > max_bytes:
        raise ProtocolError(
            f"a {msg.kind} message of {len(data):,} bytes exceeds the frame limit of "
            f"{max_bytes:,} bytes",
            where="frame",
            request_id=getattr(msg, "id", None),
        )
    return data


def decode(data: bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> Message:
    """The message in one frame; ProtocolError, saying what is wrong, for anything else."""
    if len(data) > max_bytes:
        raise oversized_error(len(data), data[:128], max_bytes)
    try:
        msg = message_adapter().validate_json(data)
    except ValidationError as exc:
        raise diagnose(data, exc) from None
    if msg.v != PROTOCOL_VERSION or "v" not in msg.model_fields_set:
        raise version_error(
            msg.v if "v" in msg.model_fields_set else None, getattr(msg, "id", None)
        )
    return msg
