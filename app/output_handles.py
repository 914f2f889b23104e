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

A streaming node's recorded output is a summary (count, bytes, the first items):
:meth:`OutputHandle.of_summary` makes its handle without the items.
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
    "json_size",
    "make_handle",
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
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: Literal["handle"] = "handle"
    execution_id: str
    node_id: str
    size_bytes: int
    value_type: Literal["list", "object", "scalar"]
    count: int | None = None
    preview: Any = None

    @classmethod
    def of_summary(
        cls,
        execution_id: str,
        node_id: str,
        *,
        count: int,
        size_bytes: int,
        preview: list[Any],
    ) -> OutputHandle:
        """The handle of a streamed output recorded as a summary."""
        return cls(
            execution_id=execution_id,
            node_id=node_id,
            size_bytes=size_bytes,
            value_type="list",
            count=count,
            preview=[shorten(item, 1) for item in preview[:PREVIEW_ITEMS]],
        )

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
