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
import re
import uuid
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from app.errors import ErrorInfo, NodeOutputError

__all__ = [
    "MAX_JSON_DEPTH",
    "NotJson",
    "dumps",
    "find_not_json",
    "format_path",
    "model_json",
    "output_error",
    "validate_json",
]

#: Deepest nesting a node output may have. Every transport carries this plus the
#: few levels of its own envelope (orjson reads 1,024).
MAX_JSON_DEPTH = 1000

_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class NotJson(ValueError):
    """A value that is not JSON: ``path`` is where (``$.a[0].b``), ``reason`` what."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# -- where a value is not JSON ---------------------------------------------------------

#: A place in a value: (segment, parent place), built only as deep as the walk goes.
_Place = tuple[str | int, "Any"] | None


def format_path(place: _Place) -> str:
    """``$.a[0]["odd key"]`` for a place; long paths keep their two ends."""
    segments: list[str] = []
    while place is not None:
        seg, place = place
        if isinstance(seg, int):
            segments.append(f"[{seg}]")
        elif _IDENT.match(seg):
            segments.append(f".{seg}")
        else:
            segments.append(f"[{_quoted(seg)}]")
    segments.reverse()
    if len(segments) > 16:
        hidden = len(segments) - 12
        segments = [*segments[:8], f"…({hidden} levels)…", *segments[-4:]]
    return "$" + "".join(segments)


def _quoted(text: str) -> str:
    quoted = encode_basestring(text[:60] + ("…" if len(text) > 60 else ""))
    return quoted.encode("utf-8", "backslashreplace").decode("utf-8")


def _scalar_problem(item: Any) -> str | None:
    """Why a non-container is not JSON (None: it is)."""
    if item is None or isinstance(item, str | bool | float):
        if isinstance(item, str) and not _encodable(item):
            return "text that is not valid Unicode (a lone surrogate)"
        return None
    if isinstance(item, int):
        if _INT_MIN <= item <= _INT_MAX:
            return None
        return f"an integer of {item.bit_length()} bits (JSON values here hold 64 bits)"
    if isinstance(item, uuid.UUID):
        return None
    if isinstance(item, bytes | bytearray | memoryview):
        return (
            f"{type(item).__name__} of length {len(item)}: bytes are not JSON and are not"
            " encoded implicitly; decode them to text or base64 them"
        )
    if isinstance(item, set | frozenset):
        return f"a {type(item).__name__}: sets are not JSON; return a list"
    return f"a {type(item).__module__}.{type(item).__qualname__} object, not JSON"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_not_json(value: Any, max_depth: int = MAX_JSON_DEPTH) -> NotJson | None:
    """The first place in ``value`` that is not JSON (see the module's rules), or None.

    An explicit stack, so any depth is walked; a container met again on its own path
    is a cycle (shared parts elsewhere are fine: they are written twice).
    """
    on_path: set[int] = set()
    stack: list[tuple[Any, _Place, int] | int] = [(value, None, 0)]
    while stack:
        entry = stack.pop()
        if isinstance(entry, int):
            on_path.discard(entry)
            continue
        item, place, depth = entry
        if isinstance(item, enum.Enum):
            item = item.value
        if not isinstance(item, dict | list | tuple):
            problem = _scalar_problem(item)
            if problem is not None:
                return NotJson(format_path(place), problem)
            continue
        key = id(item)
        if key in on_path:
            return NotJson(format_path(place), "the value contains itself (a cycle)")
        if depth >= max_depth:
            return NotJson(format_path(place), f"nested more than {max_depth:,} levels deep")
        on_path.add(key)
        stack.append(key)
        children: list[tuple[Any, _Place, int]] = []
        if isinstance(item, dict):
            for k, child in item.items():
                if not isinstance(k, str):
                    reason = f"a key of type {type(k).__name__} ({k!r:.40}): keys must be text"
                    return NotJson(format_path(place), reason)
                if not _encodable(k):
                    reason = "a key that is not valid Unicode (a lone surrogate)"
                    return NotJson(format_path(place), reason)
                children.append((child, (k, place), depth + 1))
        else:
            children = [(child, (i, place), depth + 1) for i, child in enumerate(item)]
        stack.extend(reversed(children))
    return None


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
        if not _INT_MIN <= item <= _INT_MAX:
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


def output_error(node_id: str, where: str, bad: NotJson) -> ErrorInfo:
    """The typed failure of a node whose output is not JSON (``where``: the node's
    place in the blueprint, e.g. ``nodes[2]``)."""
    return NodeOutputError(
        f"output of node {node_id!r} is not JSON at {bad.path}: {bad.reason}",
        where=f"{where}.output",
        node_id=node_id,
    ).to_info()
