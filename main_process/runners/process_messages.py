"""What crosses between the engine and a ``process``-runner worker: typed JSON messages.

The engine sends one :class:`CallRequest` per node attempt; the worker answers with
any number of :class:`CallLog` lines and then exactly one :class:`CallDone` or
:class:`CallFailed`. Code travels by name (``module:qualname``), never pickled, so
only importable, module-level callables can run in a worker — closures and lambdas
are refused by :func:`importable_name` before anything starts.

Both sides import this module, and the worker must start fast: it imports only
pydantic, the standard library and :mod:`app.json_shape` (standard library only).
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
from types import FrameType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app.json_shape import MAX_JSON_DEPTH, NotJson, find_not_json


class _Message(BaseModel):
    #: Built on first use: only executions with a ``process`` node need them.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class CallContext(_Message):
    """A snapshot of the node context: what ``ctx`` can read in the worker."""

    execution_id: str
    node_id: str
    attempt: int
    inputs: dict[str, Any]
    upstream: dict[str, Any]
    variables: dict[str, Any]
    base_dir: str
    file_roots: list[str] = Field(default_factory=list)
    timeout: float | None = None


class CallRequest(_Message):
    """Run ``target`` once.

    With ``params_model`` set, ``target`` is a node type's ``run(params, input, ctx)``
    and ``params`` are validated with that model in the worker; else ``target`` is a
    code-defined function, called with the input (and ``ctx`` when ``with_context``).
    """

    kind: Literal["call"] = "call"
    #: Numbers the calls to one worker, so a log line from a thread the previous call
    #: left running is not taken for this call's.
    call: int = 0
    target: str
    params_model: str | None = None
    params: dict[str, Any] | None = None
    input: Any = None
    with_context: bool = True
    context: CallContext


class CallLog(_Message):
    """A ``ctx.log()`` line from the worker, recorded by the engine as usual."""

    kind: Literal["log"] = "log"
    call: int = 0
    message: str
    level: str = "info"
    data: dict[str, Any] = Field(default_factory=dict)


class CallDone(_Message):
    """The node's result (``port`` set when it returned a ``PortOutput``)."""

    kind: Literal["done"] = "done"
    value: Any = None
    port: str | None = None


class RemoteError(_Message):
    """An exception raised in the worker, as the engine would have recorded it."""

    type: str
    message: str
    where: str | None = None
    traceback: str | None = None


class CallFailed(_Message):
    """The node raised; the engine reports it like a failure on a thread."""

    kind: Literal["failed"] = "failed"
    error: RemoteError


ProcessMessage = Annotated[
    CallRequest | CallLog | CallDone | CallFailed, Field(discriminator="kind")
]


@functools.cache
def process_message_adapter() -> TypeAdapter[ProcessMessage]:
    """The union's validator, built on the first decode, not at import."""
    return TypeAdapter(ProcessMessage)


def encode(message: CallRequest | CallLog | CallDone | CallFailed) -> bytes:
    """JSON bytes for one message; raises PydanticSerializationError for values JSON
    cannot hold (the caller turns that into an error naming the node)."""
    return message.__pydantic_serializer__.to_json(message)


def encode_done(value: Any, port: str | None) -> bytes:
    """:class:`CallDone`'s JSON for a node's result, or :class:`~app.json_shape.NotJson`
    naming where it is not JSON.

    Written by the standard library's C writer rather than pydantic's, which would
    turn bytes into text and sets into lists without a word, and stops at 255
    levels. The recursion limit is set for the call so that the writer takes
    :data:`~app.json_shape.MAX_JSON_DEPTH` levels and not one more (past them, or for
    bytes, sets, objects and cycles, the walk names the place). Keys that are not
    text fail as on every other runner (``json.dumps`` would write them as text);
    NaN and the infinities cross as such and are recorded as null.
    """
    body = _json(value)
    if body is None:
        raise find_not_json(value) or NotJson("$", "not JSON")
    return b'{"kind":"done","value":%s,"port":%s}' % (body, json.dumps(port).encode())


def encode_log(call: int, message: str, level: str, data: dict[str, Any]) -> bytes:
    """:class:`CallLog`'s JSON: each value of ``data`` as it is when it is JSON, else a
    note of what and where (as the engine records a log line of a node on a thread)."""
    kept: dict[str, bytes] = {}
    for key, value in data.items():
        body = _json(value)
        if body is None:
            bad = find_not_json(value) or NotJson("$", "not JSON")
            body = json.dumps(f"<not JSON at {bad.path}: {bad.reason}>").encode()
        kept[key] = body
    fields = b",".join(json.dumps(key).encode() + b":" + body for key, body in kept.items())
    head = json.dumps({"kind": "log", "call": call, "message": message, "level": level})
    return head[:-1].encode() + b',"data":{' + fields + b"}}"


def _json(value: Any) -> bytes | None:
    """``value`` as JSON bytes when it is JSON by :mod:`app.json_shape`'s rules (but for
    NaN, noted above), else None."""
    body = _written(value, _depth_slack())
    if body is not None and not _other_keys(value):
        return body
    if find_not_json(value) is not None:
        return None
    # JSON after all, within the limit: the slack was measured on another call path.
    return _written(value, MAX_JSON_DEPTH * 3)


def _other_keys(value: Any) -> bool:
    """True when a dict in ``value`` has a key that is not text: ``json.dumps`` writes
    numbers, booleans and null keys as text, which every other runner refuses."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if not all(type(key) is str for key in item):
                return True
            stack.extend(v for v in item.values() if isinstance(v, dict | list | tuple))
        elif isinstance(item, list | tuple):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(v for v in item if isinstance(v, dict | list | tuple))
    return False


def _written(value: Any, slack: int) -> bytes | None:
    """``value`` as JSON bytes, with room for ``slack`` more levels of recursion than
    this call has frames (None: the writer refused it, or it is nested deeper)."""
    frames = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        frames, frame = frames + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + slack)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return None
    finally:
        sys.setrecursionlimit(limit)


@functools.cache
def _depth_slack() -> int:
    """The recursion room the writer needs for exactly MAX_JSON_DEPTH levels here: the
    frame count misses C-level calls (an asyncio task's step), so it is measured once,
    at the depth of this module's callers, rather than assumed."""
    probe: Any = 0
    for _ in range(MAX_JSON_DEPTH):
        probe = [probe]
    slack = MAX_JSON_DEPTH
    while _written(probe, slack) is None and slack < MAX_JSON_DEPTH + 500:
        slack += 1
    return slack


def decode(data: bytes) -> CallRequest | CallLog | CallDone | CallFailed:
    return process_message_adapter().validate_json(data)


def importable_name(obj: Any) -> str | None:
    """``module:qualname`` that imports back to ``obj`` itself, else None (closures,
    lambdas, functions defined in ``__main__`` or replaced after definition)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    name = f"{module}:{qualname}"
    try:
        found = resolve_name(name)
    except Exception:  # importing may raise anything; then it cannot cross either
        return None
    return name if found is obj else None


def resolve_name(name: str) -> Any:
    """The object named ``module:qualname``, imported on ``sys.path`` as the engine's."""
    module_name, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target
