"""Reading a collecting node's input, whether it is a stream or a whole value.

A collecting node (``collect``, ``sum``, ``count``, ``reduce``) is handed its
input with every stream replaced by its :class:`~main_process.streams.channel.Reader`.
:func:`chunks_of` reads one input as chunks (a list is one chunk, any other value a
chunk of one); :func:`fold_each` applies a fold to one input, or — for a join of
several upstreams, ``{upstream_id: input}`` — to each of them **concurrently**, so a
join of two streams from one producer (A→B, A→C, B+C→D) never waits on one while
the other fills up (no deadlock).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from main_process.streams.channel import Reader

Fold = Callable[[AsyncIterator[list[Any]]], Coroutine[Any, Any, Any]]


async def chunks_of(value: Any) -> AsyncIterator[list[Any]]:
    """One input's items, a chunk at a time."""
    if isinstance(value, Reader):
        async for chunk in value:
            yield chunk
    elif isinstance(value, list):
        if value:
            yield value
    elif value is not None:
        yield [value]


def has_streams(value: Any) -> bool:
    """Whether ``value`` is a join's ``{upstream_id: input}`` with a stream among them."""
    return isinstance(value, dict) and any(isinstance(v, Reader) for v in value.values())


async def fold_each(value: Any, fold: Fold) -> Any:
    """``fold`` over the input's chunks; over each upstream's at once for a join of
    streams (a dict of results by upstream id)."""
    if not has_streams(value):
        return await fold(chunks_of(value))
    async with asyncio.TaskGroup() as group:  # one failing cancels the others
        tasks: dict[Any, asyncio.Task[Any]] = {
            key: group.create_task(fold(chunks_of(item))) for key, item in value.items()
        }
    return {key: task.result() for key, task in tasks.items()}
