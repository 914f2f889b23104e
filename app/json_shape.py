"""Where a value is not JSON: the rules of :mod:`app.json_values`, standard library only.

Kept apart so a ``process``-runner worker (which imports only pydantic and the
standard library, to start fast) checks its node's result by the same rules, and
names the same path, as the engine.
"""

from __future__ import annotations

import enum
import re
import uuid
from json.encoder import encode_basestring
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "NotJson", "find_not_json", "format_path", "output_message"]

#: Deepest nesting a node output may have. Every transport carries this plus the
#: few levels of its own envelope (orjson reads 1,024).
MAX_JSON_DEPTH = 1000

#: The integers a value may hold: 64 bits, signed or not (orjson and SQLite take no more).
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
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
        if INT_MIN <= item <= INT_MAX:
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
    cls = type(item)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    return f"a {name} object, not JSON"


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


def output_message(node_id: str, value: Any, bad: NotJson) -> str:
    """How a node whose output ``value`` is not JSON fails, wherever it ran."""
    kind = type(value).__name__
    return f"node {node_id!r} returned a {kind} that is not JSON, at {bad.path}: {bad.reason}"
