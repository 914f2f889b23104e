"""A bounded stream of items from one producing node to its consumers.

Items move in chunks (lists of up to ~1,000 items), so per-item cost stays far below
an await per item. One :class:`Stream` per producing node serves every consumer
(fan-out): each has its own position, and a chunk is freed once every consumer has
finished with it. The bound is in items: the producer may pull a chunk from its
source only when it fits (:meth:`Stream.wait_space`), and a chunk counts as in
flight from the moment it is pulled until the slowest consumer asks for the next
one — so the items a generator has yielded and no consumer has finished with never
exceed the capacity (back-pressure; the slowest consumer sets the pace).

Consumers are named when the stream opens (the producer's pending downstream
nodes), so none can miss the first chunk; one that ends, fails, is cancelled or is
skipped releases its place (:meth:`Stream.release`), and once none is left the
producer stops (its generator is closed: no runaway producer). A producer that
fails makes every consumer's next read raise :class:`StreamError`.

Assumptions: one event loop; one writer; readers read on the loop (node work on
a thread gets whole chunks handed over).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any

from app.errors import NodeFailedError


class StreamError(NodeFailedError):
    """A stream failed: its source raised (naming the item index), it was used where a
    whole value is needed, or its producer failed under a consumer. Never retried: the
    items already handed on cannot be taken back."""

    type_name = "StreamError"


class Stream:
    """One producer's chunks, buffered for its named consumers (see the module docs)."""

    __slots__ = (
        "_base",
        "_chunks",
        "_data",
        "_done",
        "_ended",
        "_error",
        "_next",
        "_space",
        "capacity",
        "held",
        "items",
        "producer_id",
        "summary",
    )

    def __init__(self, producer_id: str, consumers: Iterable[str], capacity: int) -> None:
        self.producer_id = producer_id
        self.capacity = max(1, capacity)
        self._chunks: deque[list[Any]] = deque()
        self._base = 0  # the index of _chunks[0] among all chunks put
        self._next = dict.fromkeys(consumers, 0)  # next chunk each consumer reads
        self._done = dict(self._next)  # chunks each consumer has finished with
        #: Items pulled and not yet finished with by every consumer (in flight).
        self.held = 0
        #: Items put so far.
        self.items = 0
        self._ended = False
        self._error: str | None = None
        self._data: asyncio.Future[None] | None = None
        self._space: asyncio.Future[None] | None = None
        #: The producer's recorded summary, once its stream ended.
        self.summary: Any = None

    def __repr__(self) -> str:  # shown if a template ever names a running stream
        return f"<stream of {self.producer_id!r}: {self.items} items so far>"

    @property
    def consumers(self) -> int:
        """Consumers still reading."""
        return len(self._next)

    @property
    def consumer_ids(self) -> list[str]:
        """The consumers still reading, by id."""
        return list(self._next)

    # -- the producer ----------------------------------------------------------------

    async def wait_space(self, items: int) -> bool:
        """Wait until ``items`` more fit (or nothing is held); False once no consumer
        is left, when the producer should stop."""
        while self._next and self.held and self.held + items > self.capacity:
            self._space = asyncio.get_running_loop().create_future()
            try:
                await self._space
            finally:
                self._space = None
        self.held += items  # reserved: the chunk is in flight while it is pulled
        return bool(self._next)

    def put(self, chunk: list[Any], reserved: int) -> None:
        """Hand on a pulled chunk (``reserved`` is what :meth:`wait_space` was asked)."""
        self.held += len(chunk) - reserved
        if not chunk:
            return
        self._chunks.append(chunk)
        self.items += len(chunk)
        self._wake_readers()
        if not self._next:  # every consumer left meanwhile
            self._trim()

    def end(self) -> None:
        """No more chunks: consumers read what is left, then see the end."""
        self._ended = True
        self._wake_readers()

    def fail(self, message: str) -> None:
        """The producer failed: every consumer's next read raises."""
        self._error = message
        self._wake_readers()

    # -- consumers -------------------------------------------------------------------

    def reader(self, consumer: str) -> Reader:
        """The reader of a consumer named when the stream opened."""
        if consumer not in self._next:
            raise StreamError(
                f"node {consumer!r} is not a consumer of the stream of {self.producer_id!r}"
            )
        return Reader(self, consumer)

    async def read(self, consumer: str) -> list[Any] | None:
        """The consumer's next chunk (it is done with the previous one); None at the end."""
        position = self._next.get(consumer)
        if position is None:
            return None  # released
        self._done[consumer] = position
        self._trim()
        while True:
            if self._error is not None:
                raise StreamError(self._error)
            index = position - self._base
            if index < len(self._chunks):
                self._next[consumer] = position + 1
                return self._chunks[index]
            if self._ended:
                return None
            if self._data is None:
                self._data = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._data)

    def release(self, consumer: str) -> None:
        """The consumer reads no more (ended, failed, cancelled or skipped); idempotent."""
        if self._next.pop(consumer, None) is not None:
            del self._done[consumer]
            self._trim()
            self._wake_space()

    def _trim(self) -> None:
        """Free the chunks every consumer is done with."""
        chunks = self._chunks
        floor = min(self._done.values()) if self._done else self._base + len(chunks)
        freed = False
        while self._base < floor and chunks:
            self.held -= len(chunks.popleft())
            self._base += 1
            freed = True
        if freed:
            self._wake_space()

    def _wake_readers(self) -> None:
        data, self._data = self._data, None
        if data is not None and not data.done():
            data.set_result(None)

    def _wake_space(self) -> None:
        space = self._space
        if space is not None and not space.done():
            space.set_result(None)


class Reader:
    """One consumer's view of a stream: an async iterator of chunks."""

    __slots__ = ("_consumer", "stream")

    def __init__(self, stream: Stream, consumer: str) -> None:
        self.stream = stream
        self._consumer = consumer

    def __aiter__(self) -> AsyncIterator[list[Any]]:
        return self

    async def __anext__(self) -> list[Any]:
        chunk = await self.stream.read(self._consumer)
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def items(self) -> AsyncIterator[Any]:
        """Item by item (for code that wants no chunks)."""
        async for chunk in self:
            for item in chunk:
                yield item

    def close(self) -> None:
        """Read no more: the producer no longer waits for this consumer."""
        self.stream.release(self._consumer)

    def __repr__(self) -> str:
        return f"<reader of the stream of {self.stream.producer_id!r}>"
