"""Explaining a bad frame: what is wrong with it, where, and whose it was.

The fast path (``decode``) only validates; when that fails, the frame is taken
apart here in the order a reader would check it — JSON at all, cut short, an
object, the protocol version, a known kind and method, then the fields — so the
:class:`~ipc.errors.ProtocolError` says the first thing wrong, and carries the
request id whenever it can still be read, so that request fails instead of hanging.
"""

from __future__ import annotations

import json
import re

from pydantic import ValidationError

from ipc.errors import ProtocolError
from ipc.protocol import KINDS, METHODS, PROTOCOL_VERSION

_ID_PREFIX = re.compile(rb'"id"\s*:\s*(\d{1,18})[,}\s]')


def peek_id(prefix: bytes) -> int | None:
    """The request id near the start of a frame that cannot be parsed whole (our
    encoder writes ``v``, ``kind``, ``id`` first), so its caller can be answered."""
    found = _ID_PREFIX.search(prefix[:256])
    return int(found.group(1)) if found else None


def oversized_error(size: int, prefix: bytes, max_bytes: int) -> ProtocolError:
    return ProtocolError(
        f"frame of {size:,} bytes exceeds the limit of {max_bytes:,} bytes; it was discarded",
        where="frame",
        request_id=peek_id(prefix),
    )


def version_error(version: object, request_id: int | None) -> ProtocolError:
    return ProtocolError(
        f"protocol version {version!r} is not spoken here (this side speaks {PROTOCOL_VERSION})",
        where="frame.v",
        request_id=request_id,
    )


def diagnose(data: bytes, exc: ValidationError) -> ProtocolError:
    """The slow path for a frame that failed validation: find the first thing wrong,
    in the order a reader would check it."""
    try:
        obj = json.loads(data)
    except RecursionError:  # nested past what a recursive parser can take
        return ProtocolError(
            f"JSON nested too deeply to read ({len(data):,} bytes)",
            where="frame",
            request_id=peek_id(data),
        )
    except ValueError as err:
        rid = peek_id(data)
        if isinstance(err, json.JSONDecodeError) and _truncated(err):
            return ProtocolError(
                f"truncated JSON ({len(data)} bytes): {err.msg}", where="frame", request_id=rid
            )
        return ProtocolError(f"not a JSON document: {err}", where="frame", request_id=rid)
    if not isinstance(obj, dict):
        return ProtocolError(f"a JSON {type(obj).__name__}, not an object", where="frame")
    raw_id = obj.get("id")
    rid = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    version = obj.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        return version_error(obj.get("v"), rid)
    kind = obj.get("kind")
    if kind not in KINDS:
        return ProtocolError(
            f"unknown message kind {kind!r}; expected one of {', '.join(KINDS)}",
            where="frame.kind",
            request_id=rid,
        )
    tags = 1
    if kind in ("request", "result"):
        method = obj.get("method")
        if method not in METHODS:
            return ProtocolError(
                f"unknown method {method!r} in a {kind}", where="frame.method", request_id=rid
            )
        tags = 2
    first = exc.errors()[0]
    place = ".".join(str(p) for p in first["loc"][tags:])
    return ProtocolError(
        f"bad {kind} message: {first['msg']}",
        where=f"frame.{place}" if place else "frame",
        request_id=rid,
    )


def _truncated(err: json.JSONDecodeError) -> bool:
    """An object cut short: the parser ran off the end, or into an open string."""
    text = err.doc.rstrip()
    return text[:1] == "{" and (err.pos >= len(text) or err.msg.startswith("Unterminated"))
