"""Reading what an :class:`~app.output_handles.OutputHandle` stands for, page by page.

Used by the facade (:meth:`app.api.Conductor.output_pages`, ``fetch_output``) and the
``conductor output`` command; a page is one ``node_output`` call on any transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any, Protocol

from app.output_handles import OutputHandle
from app.results import OutputPage


class PageReader(Protocol):
    """``Conductor.node_output``."""

    def __call__(
        self, execution_id: str, node_id: str, *, offset: int = 0, limit: int = 100
    ) -> Awaitable[OutputPage]: ...


async def output_pages(
    read: PageReader, handle: OutputHandle, page: int
) -> AsyncIterator[OutputPage]:
    """Pages of ``page`` items until ``total`` is reached (one page for a scalar)."""
    offset = 0
    while True:
        got = await read(handle.execution_id, handle.node_id, offset=offset, limit=page)
        yield got
        offset += len(got.items)
        if offset >= got.total or not got.items:
            return


async def fetch_output(read: PageReader, handle: OutputHandle) -> Any:
    """The whole value, reassembled from its pages (a list, an object or a scalar)."""
    items: list[Any] = []
    kind = "none"
    async for page in output_pages(read, handle, 10_000):
        kind = page.kind
        items.extend(page.items)
    if kind == "list":
        return items
    if kind == "object":
        return dict(items)
    return items[0] if items else None
