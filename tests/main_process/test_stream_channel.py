"""The bounded fan-out stream on its own (no engine): the bound, the slowest reader,
release, end and failure."""

from __future__ import annotations

import asyncio

import pytest

from main_process.streams.channel import Stream, StreamError
from main_process.streams.execution import chunk_size


async def test_the_writer_waits_for_the_slowest_reader_and_the_bound_holds() -> None:
    stream = Stream("p", ["fast", "slow"], capacity=10)
    fast, slow = stream.reader("fast"), stream.reader("slow")
    assert await stream.wait_space(5)
    stream.put(list(range(5)), 5)
    assert await stream.wait_space(5)
    stream.put(list(range(5, 10)), 5)
    assert stream.held == 10
    third = asyncio.ensure_future(stream.wait_space(5))
    assert [await fast.__anext__(), await fast.__anext__()] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    await asyncio.sleep(0)
    assert not third.done()  # the slow reader has read nothing: no room
    assert await slow.__anext__() == [0, 1, 2, 3, 4]
    await asyncio.sleep(0)
    assert not third.done()  # it still works on that chunk
    reading = asyncio.ensure_future(slow.__anext__())  # done with the first chunk
    assert await asyncio.wait_for(third, 5) is True
    assert await reading == [5, 6, 7, 8, 9]
    assert stream.held <= stream.capacity


async def test_release_unblocks_the_writer_and_the_last_one_stops_it() -> None:
    stream = Stream("p", ["a", "b"], capacity=4)
    assert await stream.wait_space(4)
    stream.put([1, 2, 3, 4], 4)
    blocked = asyncio.ensure_future(stream.wait_space(4))
    await asyncio.sleep(0)
    stream.release("a")
    await asyncio.sleep(0)
    assert not blocked.done()  # b still holds the chunk
    stream.release("b")
    assert await asyncio.wait_for(blocked, 5) is False  # nobody reads: stop producing
    stream.release("b")  # idempotent


async def test_readers_see_the_end_and_a_failure() -> None:
    stream = Stream("p", ["a"], capacity=100)
    reader = stream.reader("a")
    stream.put([1], 1)
    stream.end()
    assert [chunk async for chunk in reader] == [[1]]
    failing = Stream("q", ["a"], capacity=100)
    waiting = asyncio.ensure_future(failing.reader("a").__anext__())
    await asyncio.sleep(0)
    failing.fail("the stream of node 'q' failed: boom")
    with pytest.raises(StreamError, match="boom"):
        await waiting
    with pytest.raises(StreamError, match="not a consumer"):
        failing.reader("other")


def test_chunks_are_half_the_buffer_up_to_a_thousand() -> None:
    assert [chunk_size(n) for n in (1, 10, 1000, 100_000)] == [1, 5, 500, 1000]
