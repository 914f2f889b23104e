"""Where a stream's chunks come from: a generator, an async generator, or a mapped stream.

Each source hands out chunks on request (:meth:`ChunkSource.next`) and is closed
when the stream ends, fails or is cancelled (:meth:`ChunkSource.close`), which closes
the user's generator: its ``finally`` runs, and nothing keeps producing. An error
while producing names the index of the item that failed (counted from 0).

Plain generators and plain per-item functions run on the engine's node threads
(:func:`~main_process.runners.sync_calls.run_plain`: waited for in place once shown
fast), one chunk per hand-over, unless the node asks for ``runner: inline``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor
from itertools import islice
from typing import Any, Protocol

from main_process.runners.sync_calls import run_plain
from main_process.streams.channel import Reader, StreamError

#: Maps one chunk of items to one chunk of results; ``start`` is the first item's index.
ChunkMapper = Callable[[list[Any], int], Awaitable[list[Any]]]


class ChunkSource(Protocol):
    async def next(self, size: int) -> list[Any] | None:
        """Up to ``size`` items; None once there are no more."""
        ...

    async def close(self) -> None: ...


def failed_at(index: int, exc: BaseException) -> StreamError:
    """The error of a stream whose item ``index`` failed."""
    if isinstance(exc, StreamError):
        return exc
    detail = str(exc) or type(exc).__name__
    return StreamError(f"the stream failed at item {index}: {type(exc).__name__}: {detail}")


def _pull(source: IteratorSource, size: int, chunk: list[Any]) -> None:
    """Take up to ``size`` items (on a node thread, or in place). ``list.extend`` keeps
    the items taken before an error, so the failing index is known. A source closed
    while this ran (a cancelled consumer) is closed here, once its generator is free."""
    source.busy = True
    try:
        chunk.extend(islice(source.items, size))
    finally:
        source.busy = False
        if source.closed:
            source.close_now()


class IteratorSource:
    """A plain generator (or any iterable), pulled a chunk at a time."""

    __slots__ = ("_iterable", "_pool", "busy", "closed", "index", "items")

    def __init__(self, iterable: Any, pool: Executor | None) -> None:
        self._iterable = iterable
        self.items: Iterator[Any] = iter(iterable)
        self._pool = pool
        self.index = 0
        self.busy = False
        self.closed = False

    async def next(self, size: int) -> list[Any] | None:
        chunk: list[Any] = []
        try:
            if self._pool is None:
                _pull(self, size, chunk)
            else:
                await run_plain(self._pool, _pull, self, size, chunk)
        except Exception as exc:
            raise failed_at(self.index + len(chunk), exc) from exc
        self.index += len(chunk)
        return chunk or None

    async def close(self) -> None:
        self.closed = True
        if not self.busy:  # else the pull still running on its thread closes it
            self.close_now()

    def close_now(self) -> None:
        close = getattr(self._iterable, "close", None)
        if close is not None:
            with contextlib.suppress(ValueError):  # running: the pull closes it after
                close()


class AsyncIteratorSource:
    """An async generator (or async iterable), awaited item by item."""

    __slots__ = ("_items", "index")

    def __init__(self, iterable: Any) -> None:
        self._items = iterable.__aiter__()
        self.index = 0

    async def next(self, size: int) -> list[Any] | None:
        chunk: list[Any] = []
        anext_ = self._items.__anext__
        try:
            for _ in range(size):
                chunk.append(await anext_())
        except StopAsyncIteration:
            pass
        except Exception as exc:
            raise failed_at(self.index + len(chunk), exc) from exc
        self.index += len(chunk)
        return chunk or None

    async def close(self) -> None:
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):  # already running (closed from its own await)
                await aclose()


class MappedSource:
    """A per-item node over another stream: each chunk read, mapped, handed on."""

    __slots__ = ("_map", "_reader", "index")

    def __init__(self, reader: Reader, mapper: ChunkMapper) -> None:
        self._reader = reader
        self._map = mapper
        self.index = 0

    async def next(self, size: int) -> list[Any] | None:
        chunk = await self._reader.stream.read(self._reader._consumer)
        if chunk is None:
            return None
        mapped = await self._map(chunk, self.index)
        self.index += len(chunk)
        return mapped

    async def close(self) -> None:
        self._reader.close()


def source_of(value: Any, pool: Executor | None) -> ChunkSource:
    """The source of a producing node's returned value; a StreamError for a value that
    is no stream (a string or an object is one value, not items)."""
    if hasattr(value, "__aiter__"):
        return AsyncIteratorSource(value)
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
        raise StreamError(
            f"a streaming node must return a generator or another iterable of items, "
            f"got {type(value).__name__}"
        )
    if isinstance(value, list | tuple):
        pool = None  # already in memory: nothing to wait for
    return IteratorSource(value, pool)


def _map_items(call: Callable[[Any], Any], chunk: list[Any], start: int) -> list[Any]:
    out: list[Any] = []
    append = out.append
    try:
        for item in chunk:
            append(call(item))
    except Exception as exc:
        raise failed_at(start + len(out), exc) from exc
    return out


def chunk_mapper(call: Callable[[Any], Any], pool: Executor | None) -> ChunkMapper:
    """Apply ``call`` to every item of a chunk: awaited per item when it is async, else
    on a node thread per chunk (``pool``), or in place (``pool`` None)."""
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__):

        async def each(chunk: list[Any], start: int) -> list[Any]:
            out: list[Any] = []
            try:
                for item in chunk:
                    out.append(await call(item))
            except Exception as exc:
                raise failed_at(start + len(out), exc) from exc
            return out

        return each

    async def whole(chunk: list[Any], start: int) -> list[Any]:
        if pool is None:
            return _map_items(call, chunk, start)
        return await run_plain(pool, _map_items, call, chunk, start)

    return whole


async def iterate(source: ChunkSource, size: int) -> AsyncIterator[list[Any]]:
    """A source's chunks as an async iterator (closing it at the end)."""
    try:
        while (chunk := await source.next(size)) is not None:
            yield chunk
    finally:
        await source.close()
