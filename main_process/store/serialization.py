"""JSON bytes for everything the store keeps: fast (orjson), at any depth.

Node outputs are snapshotted at completion (a downstream node may mutate the very
object it was handed) by :func:`dump_output`, which is strict: an output that is not
JSON (:mod:`app.json_values` says what is) raises :class:`~app.json_values.NotJson`
naming the place, and the node fails. Everything else (inputs, variables, errors,
checkpoints) goes through :func:`dumps`, which is total: a value JSON cannot hold
is stored as its ``repr`` inside ``{"__unserializable__": ...}`` so the record is
never lost, and resume refuses to feed such a marker to a node as if it were the
real value. Valid JSON nested past orjson's 255 levels is written by the iterative
writer of :mod:`app.json_values`, never as a marker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from app import json_values
from app.json_values import NotJson, find_not_json
from app.paths import ensure_private_dir, private_file

UNSERIALIZABLE = "__unserializable__"

#: Tried only when the plain call fails: non-str keys make orjson ~2x slower on
#: every dict, so the common case must not pay for them.
_FALLBACK_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    """For values beside outputs (inputs, variables, checkpoints): models as their
    JSON, sets as lists; bytes, like any other object, become a marker (never text
    decoded with U+FFFD in place of what was not UTF-8)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return {UNSERIALIZABLE: _repr(value)}


def dumps(value: Any) -> bytes:
    """Serialise anything; never raises for odd values (they become markers)."""
    try:
        return json_values.dumps(value, default=_default)
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return orjson.dumps(value, default=_default, option=_FALLBACK_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return orjson.dumps({UNSERIALIZABLE: _repr(value)})


def _repr(value: Any) -> str:
    try:
        return repr(value)[:2000]
    except (RecursionError, ValueError):  # a deep or odd value's repr
        return f"<{type(value).__name__}>"


#: orjson writes what it knows natively; these it hands to ``default`` instead, so
#: that an output of dataclasses or datetimes fails like any other object.
_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def dump_output(value: Any) -> bytes:
    """A node output's JSON, or :class:`NotJson` naming where it is not JSON.

    The common case costs one orjson call; only a value orjson refuses (deep, or not
    JSON) is walked, to find the place or to write it at its depth.
    """
    try:
        return orjson.dumps(value, option=_STRICT)
    except orjson.JSONEncodeError:
        pass
    problem = find_not_json(value)
    if problem is not None:
        raise problem
    try:
        return json_values.dumps(value)
    except orjson.JSONEncodeError as exc:  # a kind the walk and the writer see apart
        raise NotJson("$", str(exc)) from None


def loads(data: bytes | str | None) -> Any:
    return None if data is None else orjson.loads(data)


def is_unserializable(value: Any) -> bool:
    return isinstance(value, dict) and UNSERIALIZABLE in value and len(value) == 1


#: Lists longer than this are written to their spill file slice by slice.
STREAM_ITEMS = 4096


def dump_list_to_file(items: list[Any], path: Path, *, strict: bool = False) -> int:
    """Serialise a long list into ``path`` a slice at a time; returns the byte count.

    One ``dumps`` of 100,000 records holds a single ~6 MB buffer (and orjson's
    growth slack) beside the list itself; slices keep the extra memory to a few
    hundred KB, which is what lets a large-items run stay near the memory of the
    same work done by hand. Written to a temporary name and renamed, so a crash
    never leaves half a file under the real name. ``strict``: a node output, so an
    item that is not JSON raises :class:`NotJson` (placed in the whole list) and
    leaves no file.
    """
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    dump = dump_output if strict else dumps
    size = 0
    try:
        with os.fdopen(private_file(tmp), "wb") as fh:
            fh.write(b"[")
            for start in range(0, len(items), STREAM_ITEMS):
                part = dump(items[start : start + STREAM_ITEMS])
                if start:
                    fh.write(b",")
                    size += 1
                fh.write(part[1:-1])
                size += len(part) - 2
            fh.write(b"]")
    except NotJson:
        tmp.unlink(missing_ok=True)
        raise find_not_json(items) or NotJson("$", "not JSON") from None
    os.replace(tmp, path)
    return size + 2
