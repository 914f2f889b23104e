"""JSON bytes for everything the store keeps: fast (orjson) and total.

Node outputs are snapshotted at completion (a downstream node may mutate the very
object it was handed). A value JSON cannot hold is stored as its ``repr`` inside
``{"__unserializable__": ...}`` so the record is never lost, and resume refuses
to feed such a marker to a node as if it were the real value.
"""

from __future__ import annotations

from typing import Any

import orjson

UNSERIALIZABLE = "__unserializable__"

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return {UNSERIALIZABLE: repr(value)[:2000]}


def dumps(value: Any) -> bytes:
    """Serialise anything; never raises for odd values (they become markers)."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return orjson.dumps({UNSERIALIZABLE: repr(value)[:2000]})


def loads(data: bytes | str | None) -> Any:
    return None if data is None else orjson.loads(data)


def is_unserializable(value: Any) -> bool:
    return isinstance(value, dict) and UNSERIALIZABLE in value and len(value) == 1
