"""What a value must be to be recorded and carried, and JSON for it at any depth.

A node's output is kept in the store and carried by every transport as JSON, so it
must be JSON: objects with text keys, lists (tuples are written as lists), text,
numbers, booleans and null, nested at most :data:`MAX_JSON_DEPTH` levels. Decided
for the values Python has and JSON has not:

* ``bytes``: never encoded implicitly (no guessed charset, no silent U+FFFD): a
  node returning bytes fails, naming where they are; decode or base64 them first.
* sets, cycles, arbitrary objects (dataclasses, datetimes included), non-text keys,
  text with lone surrogates, integers outside the 64-bit range (what orjson, SQLite
  and most JSON readers take): the node fails, naming the place.
* ``NaN`` and the infinities are written as ``null``, as JavaScript's
  ``JSON.stringify`` and orjson do; enum members as their values, UUIDs as text.

The fast writer (orjson) stops at 255 levels and pydantic's at about as many; values
nested deeper (up to the limit, and the few levels a message wraps around them) go
through :func:`dumps`'s iterative writer, never through a placeholder.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, TypeVar, overload

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from app.errors import ErrorInfo, NodeOutputError
from app.json_shape import (
    INT_MAX,
    INT_MIN,
    MAX_JSON_DEPTH,
    NotJson,
    find_not_json,
    format_path,
    output_message,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "NotJson",
    "dumps",
    "find_not_json",
    "format_path",
    "loggable",
    "model_json",
    "output_error",
    "validate_json",
]

# -- writing -------------------------------------------------------------------------------


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON bytes for ``value`` (orjson's output), at any depth.

    Raises ``TypeError`` (orjson's :class:`orjson.JSONEncodeError`) for what neither
    writer takes, as orjson does; past orjson's 255 levels, or for a cycle, the
    iterative writer answers (a cycle there is a ``TypeError`` too).
    """
    try:
        return orjson.dumps(value, default=default)
    except orjson.JSONEncodeError as exc:
        if "Recursion limit" not in str(exc):
            raise
    return _deep_dumps(value, default)


_LITERAL, _VALUE, _EXIT = 0, 1, 2


def _deep_dumps(value: Any, default: Callable[[Any], Any] | None) -> bytes:
    """The same JSON as orjson, written with an explicit stack."""
    parts: list[str] = []
    on_path: set[int] = set()
    stack: list[tuple[int, Any]] = [(_VALUE, value)]
    while stack:
        kind, item = stack.pop()
        if kind == _LITERAL:
            parts.append(item)
            continue
        if kind == _EXIT:
            on_path.discard(item)
            continue
        for _ in range(64):  # default() may hand back another object to convert
            if isinstance(item, enum.Enum) and not isinstance(item, str | int):
                item = item.value
            if isinstance(item, dict | list | tuple) or _plain(item):
                break
            if default is None:
                raise orjson.JSONEncodeError(f"Type is not JSON serializable: {type(item)}")
            item = default(item)
        if not isinstance(item, dict | list | tuple):
            parts.append(_scalar_json(item))
            continue
        key = id(item)
        if key in on_path:
            raise orjson.JSONEncodeError("Recursion limit reached (a cycle)")
        on_path.add(key)
        stack.append((_EXIT, key))
        if isinstance(item, dict):
            if not item:
                parts.append("{}")
                continue
            parts.append("{")
            stack.append((_LITERAL, "}"))
            entries = list(item.items())
            for i in range(len(entries) - 1, -1, -1):
                k, child = entries[i]
                if not isinstance(k, str):
                    raise orjson.JSONEncodeError("Dict key must be str")
                stack.append((_VALUE, child))
                stack.append((_LITERAL, ("," if i else "") + encode_basestring(k) + ":"))
        else:
            if not item:
                parts.append("[]")
                continue
            parts.append("[")
            stack.append((_LITERAL, "]"))
            for i in range(len(item) - 1, -1, -1):
                stack.append((_VALUE, item[i]))
                if i:
                    stack.append((_LITERAL, ","))
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:
        raise orjson.JSONEncodeError("str is not valid UTF-8: surrogates not allowed") from None


def _plain(item: Any) -> bool:
    return item is None or isinstance(item, str | int | float | uuid.UUID)


def _scalar_json(item: Any) -> str:
    if item is None:
        return "null"
    if isinstance(item, str):
        return encode_basestring(item)
    if item is True or item is False:
        return "true" if item else "false"
    if isinstance(item, int):
        if not INT_MIN <= item <= INT_MAX:
            raise orjson.JSONEncodeError("Integer exceeds 64-bit range")
        return int.__repr__(item)
    if isinstance(item, float):
        return float.__repr__(item) if math.isfinite(item) else "null"
    return encode_basestring(str(item))  # a UUID


def _python_default(value: Any) -> Any:
    """What a model dumped in python mode may still hold: models, enums, dates, …"""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if isinstance(value, set | frozenset):
        return list(value)
    raise orjson.JSONEncodeError(f"Type is not JSON serializable: {type(value).__name__}")


def _too_deep(exc: Exception) -> bool:
    text = str(exc)
    return "depth" in text or "ecursion" in text


def model_json(model: BaseModel, **options: Any) -> bytes:
    """``model.model_dump_json(**options)`` as bytes, at any depth of its values.

    pydantic's writer stops at about 255 levels; a deeper model is dumped in python
    mode (which has no such limit) and written by :func:`dumps`. ``fallback`` (for
    values JSON cannot hold) is honoured on both paths.
    """
    try:
        return model.__pydantic_serializer__.to_json(model, **options)
    except (PydanticSerializationError, ValueError) as exc:
        if not _too_deep(exc):
            raise
    fallback = options.pop("fallback", None)

    def default(value: Any) -> Any:
        try:
            return _python_default(value)
        except TypeError:
            if fallback is None:
                raise
            return fallback(value)

    data = model.__pydantic_serializer__.to_python(model, **options)
    return dumps(data, default=default)


def adapter_json(adapter: TypeAdapter[Any], value: Any) -> bytes:
    """``adapter.dump_json(value)`` at any depth (see :func:`model_json`)."""
    try:
        return adapter.dump_json(value)
    except (PydanticSerializationError, ValueError) as exc:
        if not _too_deep(exc):
            raise
    return dumps(adapter.dump_python(value), default=_python_default)


_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")


@overload
def validate_json(validator: type[_M], data: bytes | str) -> _M: ...
@overload
def validate_json(validator: TypeAdapter[_T], data: bytes | str) -> _T: ...
def validate_json(validator: TypeAdapter[Any] | type[BaseModel], data: bytes | str) -> Any:
    """``validate_json`` that also reads documents nested past pydantic's parser.

    pydantic's JSON parser stops at about 200 levels; a document it refused for its
    depth alone is parsed by orjson (1,024 levels) and validated as python data.
    """
    try:
        if isinstance(validator, TypeAdapter):
            return validator.validate_json(data)
        return validator.model_validate_json(data)
    except ValidationError as exc:
        errors = exc.errors()
        if not (len(errors) == 1 and errors[0]["type"] == "json_invalid"):
            raise
        if "recursion limit" not in str(errors[0].get("msg", "")):
            raise
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise exc from None
    if isinstance(validator, TypeAdapter):
        return validator.validate_python(parsed)
    return validator.model_validate(parsed)


def output_error(node_id: str, where: str, value: Any, bad: NotJson) -> ErrorInfo:
    """The typed failure of a node whose output is not JSON (``where``: the node's
    place in the blueprint, e.g. ``nodes[2]``)."""
    return NodeOutputError(
        output_message(node_id, value, bad),
        where=f"{where}.output",
        node_id=node_id,
    ).to_info()


def loggable(data: dict[str, Any]) -> dict[str, Any]:
    """A log line's data as it is recorded: each JSON value as it is, any other (a
    cycle, bytes, nesting past the limit) as a note of what and where, so that what a
    node logs can neither fail its execution's record nor be encoded implicitly."""
    try:
        orjson.dumps(data)  # the common case: plain and shallow
        return data
    except orjson.JSONEncodeError:
        pass
    kept: dict[str, Any] = {}
    for key, value in data.items():
        bad = find_not_json(value)
        kept[key] = value if bad is None else f"<not JSON at {bad.path}: {bad.reason}>"
    return kept
