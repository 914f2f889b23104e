"""Every message that crosses the pipe, as pydantic models in one discriminated union.

The wire is one JSON object per frame (multiprocessing's length-prefixed framing,
see :mod:`ipc.framing`), never pickled objects. Each message carries ``v`` (the protocol
version) and a ``kind``:

* ``request`` — client → worker: ``id`` (unique per client) and one operation
  (:mod:`app.operations`, a union on ``method``) or the pipe's ``events``
  subscription, its fields beside ``v``, ``kind`` and ``id`` in one flat object.
* ``result`` — worker → client: the reply to request ``id``, typed per method, so
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
import operator
import threading
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticSerializationError

from app.errors import ConductorError, ErrorInfo
from app.events import Event
from app.json_values import model_json, validate_json
from app.operations import AnyReply, AnyRequest, Reply, Request
from app.shape_problems import MAX_DEPTH, unencodable_problems, unwritable_blueprint
from ipc.errors import ProtocolError
from ipc.frame_errors import diagnose, oversized_error, version_error
from ipc.protocol import (
    DEFAULT_ENTRY_POINT,
    DEFAULT_EVENT_WINDOW,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
)


class _Message(BaseModel):
    # Built on first use: a worker says hello before it has decoded anything.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    #: Protocol version; a received frame must carry it (checked in ``decode``).
    v: StrictInt = PROTOCOL_VERSION


# -- requests and results ---------------------------------------------------------------


class EventsRequest(_Message):
    """Subscribe: replay events after ``after_seq``, then follow until the terminal one.
    ``window`` is the initial credit, in batches. The pipe's own request (the other
    transports follow events their own way, ``Transport.events``), so a frame of its
    own rather than an operation."""

    kind: Literal["request"] = "request"
    id: int
    method: Literal["events"] = "events"
    execution_id: str
    after_seq: int = Field(default=0, ge=0)
    window: int = Field(default=DEFAULT_EVENT_WINDOW, ge=1, le=1024)


class EventsEndReply(_Message):
    """The subscription is over; ``result`` is the last seq it delivered."""

    kind: Literal["result"] = "result"
    id: int
    method: Literal["events"] = "events"
    result: int


class RequestFrame(_Message):
    """client → worker: request ``id`` (unique per client). On the wire the
    operation's fields sit beside ``v``, ``kind`` and ``id`` in one flat object
    (:func:`encode` splices them; :func:`decode` reads them in one pass)."""

    kind: Literal["request"] = "request"
    id: int
    request: Request


class ReplyFrame(_Message):
    """worker → client: the reply to request ``id``, flat on the wire like a request."""

    kind: Literal["result"] = "result"
    id: int
    reply: Reply


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


#: Every message, as the code handles it.
Message = (
    RequestFrame
    | EventsRequest
    | ReplyFrame
    | EventsEndReply
    | ErrorReply
    | EventBatch
    | Credit
    | Abandon
    | Hello
    | Heartbeat
)


# -- the wire schema -------------------------------------------------------------------
#
# Decoding is one pass of pydantic's JSON validator over a union tagged by ``kind``,
# then by ``method``: the operations' frames are flat on the wire, so their schema is
# a frame class per operation with its fields beside the envelope's, generated from
# the operation models (a new operation needs nothing here). The decoded flat frame
# then becomes a RequestFrame/ReplyFrame holding the operation model.

_ENVELOPE = frozenset({"v", "kind", "id"})


def _flat_frame(model: type[BaseModel], kind: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items()
    }
    tag: Any = Literal[kind]
    return create_model(
        f"{model.__name__}Frame", __base__=_Message, kind=(tag, kind), id=(int, ...), **fields
    )


def _union(*members: Any) -> Any:
    return functools.reduce(operator.or_, members)


#: The wire's adapter and, per flat frame class, the operation model it carries.
_Wire = tuple[TypeAdapter[Any], dict[type[BaseModel], type[BaseModel]]]
_wire_lock = threading.Lock()
_wire_made: list[_Wire] = []


def _wire() -> _Wire:
    """Made at the first decode, not at import: the ~100 frame classes cost the pipe
    worker's start-up ~10 ms, and a worker says hello before it reads any frame.
    Made once under a lock (reader threads decode): a frame decoded by one adapter
    must be looked up among that adapter's classes."""
    if not _wire_made:
        with _wire_lock:
            if not _wire_made:
                _wire_made.append(_make_wire())
    return _wire_made[0]


def prepare_decoding() -> None:
    """Make the wire's classes and validator now: the process handle's reader
    thread does, so the client builds them while its worker starts (on the other
    core) rather than when the worker's hello arrives."""
    _wire()[0].rebuild()


def _make_wire() -> _Wire:
    flat_requests = {_flat_frame(model, "request"): model for model in get_args(AnyRequest)}
    flat_replies = {_flat_frame(model, "result"): model for model in get_args(AnyReply)}
    wire_type: Any = Annotated[
        _union(
            Annotated[_union(*flat_requests, EventsRequest), Field(discriminator="method")],
            Annotated[_union(*flat_replies, EventsEndReply), Field(discriminator="method")],
            ErrorReply,
            EventBatch,
            Credit,
            Abandon,
            Hello,
            Heartbeat,
        ),
        Field(discriminator="kind"),
    ]
    adapter: TypeAdapter[Any] = TypeAdapter(wire_type, config=ConfigDict(defer_build=True))
    return adapter, {**flat_requests, **flat_replies}


def _unflatten(flat: Any, carried_by: dict[type[BaseModel], type[BaseModel]]) -> Message:
    """The frame the code handles for a decoded flat one. The operation is validated
    again from values already checked (cheap: models pass through as they are)."""
    carried = carried_by.get(type(flat))
    if carried is None:
        message: Message = flat
        return message
    inner: Any = carried.model_validate(
        {key: value for key, value in flat.__dict__.items() if key not in _ENVELOPE}
    )
    if flat.kind == "request":
        return RequestFrame(v=flat.v, id=flat.id, request=inner)
    return ReplyFrame(v=flat.v, id=flat.id, reply=inner)


class WorkerConfig(BaseModel):
    """What the process handle tells a new worker. It crosses as a plain dict of
    strings and numbers (multiprocessing's spawn args), validated again in the child."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

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
    #: Fire the data dir's schedule and file triggers while the app is open.
    triggers: bool = True
    #: Where ``runner: dask`` nodes run (None: ``$CONDUCTOR_DASK_SCHEDULER``, else nowhere).
    dask_scheduler: str | None = None


# -- encoding --------------------------------------------------------------------------


def _unserializable(value: Any) -> Any:
    """A value JSON cannot hold travels as the same marker the store uses."""
    return {"__unserializable__": repr(value)[:2000]}


def _unwritable(msg: Message) -> ConductorError:
    """The typed error for a message holding text no JSON writer takes (a lone
    surrogate): a request's blueprint gets the BlueprintError the engine raises for
    it, anything else a ProtocolError naming the first such place."""
    if isinstance(msg, RequestFrame | ReplyFrame):
        inner = msg.request if isinstance(msg, RequestFrame) else msg.reply
        data = inner.model_dump(exclude_none=True)
    else:
        data = msg.model_dump(exclude_none=True)
    if msg.kind == "request" and (error := unwritable_blueprint(data.get("blueprint"))):
        return error
    problems = unencodable_problems(data)
    return ProtocolError(
        f"a {msg.kind} message holds values that cannot be written as JSON",
        where=f"frame.{problems[0].where}" if problems else "frame",
        request_id=getattr(msg, "id", None),
    )


def _too_deep_blueprint(msg: RequestFrame, data: bytes) -> ConductorError | None:
    """The engine's BlueprintError for a blueprint nested too deeply to check, before
    the frame goes (the worker could not even read it: a ProtocolError, once). Only
    a frame with enough brackets to be that deep is walked."""
    blueprint = getattr(msg.request, "blueprint", None)
    if not isinstance(blueprint, dict) or data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return None
    return unwritable_blueprint(blueprint)


def encode(msg: Message, *, max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """JSON bytes for one frame; ProtocolError when it would exceed ``max_bytes``, and
    a typed error naming the place when a value cannot be written at all."""
    # The model's own serializer: the same JSON as the union adapter's, at half the cost.
    # An operation's frame is its model's JSON with the envelope spliced in front.
    # Values nested past pydantic's writer (JSON up to 1,000 levels crosses) take
    # model_json's iterative one.
    try:
        if isinstance(msg, RequestFrame | ReplyFrame):
            inner = msg.request if isinstance(msg, RequestFrame) else msg.reply
            body = model_json(inner, fallback=_unserializable)
            head = b'{"v":%d,"kind":"%s","id":%d,' % (msg.v, msg.kind.encode(), msg.id)
            data = head + body[1:]
        else:
            data = model_json(msg, fallback=_unserializable)
    except (PydanticSerializationError, TypeError):
        raise _unwritable(msg) from None
    if isinstance(msg, RequestFrame) and (error := _too_deep_blueprint(msg, data)):
        raise error
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
    wire, carried_by = _wire()
    try:
        flat = validate_json(wire, data)  # past pydantic's ~200 levels too
    except ValidationError as exc:
        raise diagnose(data, exc) from None
    if flat.v != PROTOCOL_VERSION or "v" not in flat.model_fields_set:
        raise version_error(
            flat.v if "v" in flat.model_fields_set else None, getattr(flat, "id", None)
        )
    return _unflatten(flat, carried_by)
