"""What is recorded of a stream as it flows: never the whole stream in memory.

Every chunk is serialised once as it passes (which also proves it JSON, naming the
item that is not), counted, and dropped: the record keeps the item count, the bytes
of the stream's JSON (as if it were one list) and a preview of its first
:data:`PREVIEW_ITEMS` items. A node with ``record: full`` also queues each chunk's
JSON to the store's ``stream_chunks`` table as it passes, so the data tab can page
through every item and resume can reuse the stream.

The node's recorded output is the summary (:func:`is_stream_summary` tells it
apart): ``{"stream": {"items", "bytes", "chunks", "record", "preview", "stopped"}}``.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.json_values import NotJson
from app.output_handles import is_stream_summary
from main_process.store.serialization import dump_output
from main_process.streams.channel import StreamError

__all__ = ["PREVIEW_ITEMS", "StreamRecord", "is_stream_summary"]  # the test is app's

#: Items of a stream kept for display when only its summary is recorded.
PREVIEW_ITEMS = 1000


class StreamRecord:
    """Counts, measures and previews one node's stream; queues its chunks when full."""

    __slots__ = ("_chunk_sink", "bytes", "chunks", "items", "preview")

    def __init__(self, chunk_sink: Any = None) -> None:
        #: ``chunk_sink(seq, first_item, items, json)`` keeps every chunk (``record: full``).
        self._chunk_sink = chunk_sink
        self.items = 0
        self.bytes = 0
        self.chunks = 0
        self.preview: list[Any] = []

    def add(self, chunk: list[Any]) -> None:
        """Record one chunk (a StreamError naming the item when one is not JSON)."""
        try:
            data = dump_output(chunk)
        except NotJson as exc:
            raise StreamError(
                f"item {self.items + _first_index(exc)} of the stream is not JSON: {exc}"
            ) from None
        if len(self.preview) < PREVIEW_ITEMS:
            need = PREVIEW_ITEMS - len(self.preview)
            self.preview.extend(orjson.loads(data)[:need])  # a snapshot, not the live items
        if self._chunk_sink is not None:
            self._chunk_sink(self.chunks, self.items, len(chunk), data)
        # The stream's JSON as one list: the items' bytes, a comma between chunks, brackets.
        self.bytes += len(data) - 2 + (1 if self.items else 0)
        self.items += len(chunk)
        self.chunks += 1

    def summary(self, *, full: bool, stopped: bool = False) -> dict[str, Any]:
        record: dict[str, Any] = {
            "items": self.items,
            "bytes": self.bytes + 2,
            "chunks": self.chunks,
            "record": "full" if full else "summary",
            "preview": self.preview,
        }
        if stopped:
            record["stopped"] = "every consumer stopped reading"
        return {"stream": record}


def _first_index(exc: NotJson) -> int:
    """The chunk index in a NotJson's place (``$[12].x`` → 12), else 0."""
    where = getattr(exc, "path", None) or str(exc)
    if isinstance(where, str) and where.startswith("$[") and "]" in where:
        head = where[2 : where.index("]")]
        if head.isdigit():
            return int(head)
    return 0
