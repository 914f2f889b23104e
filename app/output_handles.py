"""Result handles: a large output stands in a result as a small typed reference.

A result (``execute``, ``wait``, ``resume``, ``get_execution``) carries every node's
status, but a node output — or the execution's ``outputs`` — whose JSON is over
:func:`inline_limit` bytes (1 MiB by default; ``--max-inline-output-bytes``,
``$CONDUCTOR_MAX_INLINE_OUTPUT_BYTES``) comes as an :class:`OutputHandle`: its size,
its item count and a short preview. The value itself stays with the engine and is
read page by page with ``node_output(execution_id, node_id, offset, limit)``, so a
100,000-item list never crosses a pipe or an HTTP response whole, and a client's
memory does not grow with it. ``include_node_outputs=True`` asks for every value
inline (the old behaviour). Every transport does the same, the direct one included:
:func:`with_handles` is applied where the engine answers an operation.

The execution's ``outputs`` is paged with the node id :data:`EXECUTION_OUTPUTS`
(``""``, which no node can have). An engine that records nothing (``persist=False``)
has nowhere to page from once a run ends: its results stay inline.

A streaming node's recorded output is a summary (:func:`stream_record`: count, bytes,
the first items): in a result it is always a handle (:func:`stream_handle`), however
small, so a client tells a stream from a list of its first items. Its ``record`` says
how it was recorded and ``complete`` whether its pages are every item (``record:
"full"`` on the node) or only the first ones kept for display. ``include_node_outputs``
carries the summary itself. An execution's ``outputs`` that is one node's stream is
that node's stream handle (its ``node_id`` names the node, so the pages are the
stream's); ``outputs`` naming several values of which some are streams is a handle of
``outputs`` whose preview shows each stream as a short summary.
"""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from app.limits import limit

__all__ = [
    "EXECUTION_OUTPUTS",
    "OutputHandle",
    "OutputValue",
    "inline_limit",
    "is_stream_summary",
    "json_size",
    "make_handle",
    "stream_brief",
    "stream_handle",
    "stream_record",
]

#: The node id under which ``node_output`` pages an execution's ``outputs``.
EXECUTION_OUTPUTS = ""
#: A preview shows at most this many items of each list or object, ...
PREVIEW_ITEMS = 5
#: ... this many characters of each string, ...
PREVIEW_CHARS = 120
#: ... and this many levels; deeper containers show as ``"…"``.
PREVIEW_DEPTH = 3
#: Items serialised at a time while measuring a list (bounded extra memory).
_SLICE = 4096


def inline_limit() -> int:
    """The largest output a result carries inline (bytes of JSON)."""
    return limit("inline_output_bytes")


class OutputHandle(BaseModel):
    """A node's output (or the execution's ``outputs`` when ``node_id`` is ``""``)
    too large to carry in a result: fetch it with ``node_output(execution_id,
    node_id, offset=..., limit=...)`` (``Conductor.fetch_output(handle)`` reads all
    pages).

    ``value_type`` says how it pages (as :class:`~app.results.OutputPage` ``kind``):
    list items, object entries, or one scalar; ``count`` is the items or keys
    (None for a scalar); ``preview`` the first few items, each cut short.

    A streamed output's handle has ``record`` set (``"summary"`` or ``"full"``, as
    the node recorded it): ``count`` is the items that flowed, ``size_bytes`` their
    JSON as one list. ``complete`` is False when the pages hold only the first items
    (a summary keeps the first 1,000 for display): page totals then say how many.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: Literal["handle"] = "handle"
    execution_id: str
    node_id: str
    size_bytes: int
    value_type: Literal["list", "object", "scalar"]
    count: int | None = None
    preview: Any = None
    #: A streamed output: how its node recorded it; None for any other output.
    record: Literal["summary", "full"] | None = None
    #: Whether paging gives the whole value (False: only a stream's first items).
    complete: bool = True

    @classmethod
    def of_summary(
        cls,
        execution_id: str,
        node_id: str,
        *,
        count: int,
        size_bytes: int,
        preview: list[Any],
        record: Literal["summary", "full"] = "summary",
    ) -> OutputHandle:
        """The handle of a streamed output recorded as a summary (or in full)."""
        return cls(
            execution_id=execution_id,
            node_id=node_id,
            size_bytes=size_bytes,
            value_type="list",
            count=count,
            preview=[shorten(item, 1) for item in preview[:PREVIEW_ITEMS]],
            record=record,
            complete=record == "full" or count <= len(preview),
        )

    @property
    def is_stream(self) -> bool:
        """True for a streamed output (see the class docs)."""
        return self.record is not None

    @property
    def is_outputs(self) -> bool:
        """True for the execution's ``outputs`` (not one node's output)."""
        return self.node_id == EXECUTION_OUTPUTS


_FIELDS = frozenset(OutputHandle.model_fields)
_REQUIRED = frozenset({"kind", "execution_id", "node_id", "size_bytes", "value_type"})


def _as_handle(value: Any) -> Any:
    """A handle's JSON (from a pipe or an HTTP body) as the model; any other value as is.

    Only an object with ``kind: "handle"`` and nothing but a handle's fields is one.
    """
    if (
        type(value) is dict
        and value.get("kind") == "handle"
        and _REQUIRED <= value.keys() <= _FIELDS
    ):
        return OutputHandle.model_validate(value)
    return value


#: A result's output field: the value, or the :class:`OutputHandle` standing for it.
OutputValue = Annotated[Any, BeforeValidator(_as_handle)]


def shorten(value: Any, depth: int = 0) -> Any:
    """``value`` cut for a preview: a few items per container, short strings, few levels."""
    if isinstance(value, str):
        return value if len(value) <= PREVIEW_CHARS else value[:PREVIEW_CHARS] + "…"
    if isinstance(value, list | tuple):
        if depth >= PREVIEW_DEPTH:
            return "…"
        return [shorten(item, depth + 1) for item in value[:PREVIEW_ITEMS]]
    if isinstance(value, dict):
        if depth >= PREVIEW_DEPTH:
            return "…"
        return {
            str(key): shorten(item, depth + 1) for key, item in islice(value.items(), PREVIEW_ITEMS)
        }
    return value


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON; a long list is encoded a slice at a time,
    so measuring holds a few hundred KB beside it, never a second copy."""
    if type(value) is list and len(value) > _SLICE:
        starts = range(0, len(value), _SLICE)
        size = 2 + len(starts) - 1  # the brackets, a comma between slices
        for start in starts:
            size += len(_dumps(value[start : start + _SLICE])) - 2  # a slice's inside
        return size
    return len(_dumps(value))


def _dumps(value: Any) -> bytes:
    """Compact JSON at any depth (past orjson's 255 levels too)."""
    from app.json_values import dumps

    return dumps(value, default=str)


def make_handle(
    execution_id: str, node_id: str, value: Any, limit: int, size: int | None = None
) -> Any:
    """``value`` when its JSON is at most ``limit`` bytes, else its handle; ``size``
    is the value's JSON size when already known (the recorded size), else measured."""
    if value is None or isinstance(value, bool | int | float | OutputHandle):
        return value
    if size is None:
        if isinstance(value, str) and len(value) * 4 + 2 <= limit:
            return value  # even all 4-byte characters fit
        size = json_size(value)
    if size <= limit:
        return value
    value_type: Literal["list", "object", "scalar"]
    if isinstance(value, list | tuple):
        value_type, count = "list", len(value)
    elif isinstance(value, dict):
        value_type, count = "object", len(value)
    else:
        value_type, count = "scalar", None
    return OutputHandle(
        execution_id=execution_id,
        node_id=node_id,
        size_bytes=size,
        value_type=value_type,
        count=count,
        preview=shorten(value),
    )


def stream_record(value: Any) -> dict[str, Any] | None:
    """The record of a streamed node's recorded output ``{"stream": {"items", "bytes",
    "chunks", "record", "preview"}}`` (the inner mapping); None for any other value."""
    if isinstance(value, dict) and len(value) == 1:
        record = value.get("stream")
        if isinstance(record, dict) and "preview" in record:
            return record
    return None


def is_stream_summary(value: Any) -> bool:
    """Whether a recorded output is a stream's summary."""
    return stream_record(value) is not None


def stream_handle(execution_id: str, node_id: str, value: Any) -> OutputHandle | None:
    """The handle of a streamed output's summary ``value``; None when it is none."""
    record = stream_record(value)
    if record is None:
        return None
    preview = record.get("preview")
    return OutputHandle.of_summary(
        execution_id,
        node_id,
        count=int(record.get("items") or 0),
        size_bytes=int(record.get("bytes") or 0),
        preview=preview if isinstance(preview, list) else [],
        record="full" if record.get("record") == "full" else "summary",
    )


def stream_brief(value: Any) -> Any:
    """A stream summary cut for a preview (its counts and first items); any other value
    as :func:`shorten` cuts it one level down."""
    record = stream_record(value)
    if record is None:
        return shorten(value, 1)
    brief = {k: v for k, v in record.items() if k not in ("preview", "chunks")}
    preview = record.get("preview")
    brief["preview"] = [shorten(item, 2) for item in (preview or [])[:PREVIEW_ITEMS]]
    return {"stream": brief}
