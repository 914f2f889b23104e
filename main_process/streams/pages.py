"""Paging a streamed node's output in the data tab (``node_output``).

A streamed node's recorded output is its summary
(:mod:`main_process.streams.recording`). Recorded ``full``, its pages are the
stream's items, read from the store's chunks (``total`` is the item count);
otherwise they are the preview's first items (``total`` is the preview's length;
the summary's ``items`` says how many flowed). ``size_bytes`` is the stream's JSON
size and ``stream_items`` its item count either way, so a page of no items tells a
client what a stream held (wire counts, the data tab's header).
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.results import OutputPage
from main_process.store import Store, history
from main_process.streams.recording import is_stream_summary


async def stream_page(
    store: Store | None, execution_id: str, node_id: str, value: Any, offset: int, limit: int
) -> OutputPage | None:
    """The page of a streamed output; None when ``value`` is no stream summary."""
    if not is_stream_summary(value):
        return None
    record = value["stream"]
    if record.get("record") == "full" and store is not None:
        await store.flush()
        items = await asyncio.to_thread(
            history.stream_items, store, execution_id, node_id, offset, limit
        )
        total = int(record.get("items", 0))
    else:
        preview = record.get("preview") or []
        items, total = preview[offset : offset + limit], len(preview)
    return OutputPage(
        execution_id=execution_id,
        node_id=node_id,
        kind="list",
        total=total,
        offset=offset,
        limit=limit,
        items=items,
        size_bytes=int(record.get("bytes", 0)),
        stream_items=int(record.get("items", 0)),
    )
