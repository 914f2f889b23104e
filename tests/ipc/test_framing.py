"""Frames on a real pipe: order kept across the writer's fast path and its thread,
back-pressure when the peer stops reading, oversized frames skipped in step."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection

import pytest

from ipc.framing import FrameReader, FrameWriter, OversizedFrame


@pytest.fixture
def pipe() -> Iterator[tuple[Connection, Connection]]:
    a, b = multiprocessing.Pipe()
    yield a, b
    a.close()
    b.close()


async def test_frames_arrive_whole_and_in_order(pipe: tuple[Connection, Connection]) -> None:
    a, b = pipe
    rng = random.Random(7)
    frames = [rng.randbytes(rng.choice([1, 100, 20_000, 300_000])) for _ in range(120)]
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.extend(b.recv_bytes() for _ in frames))
    reader.start()
    writer = FrameWriter(a, asyncio.get_running_loop(), capacity=4)
    for i, frame in enumerate(frames):
        if i % 3:
            await writer.send(frame)
        else:
            writer.post(frame)
    writer.close()
    await asyncio.get_running_loop().run_in_executor(None, reader.join, 30)
    assert received == frames


async def test_a_peer_that_stops_reading_stalls_the_sender(
    pipe: tuple[Connection, Connection],
) -> None:
    a, b = pipe
    writer = FrameWriter(a, asyncio.get_running_loop(), capacity=2)
    big = b"x" * (1 << 20)
    sends = [asyncio.ensure_future(writer.send(big)) for _ in range(5)]
    await asyncio.wait_for(asyncio.gather(*sends[:3]), 10)  # fast path + 2 queued slots
    await asyncio.sleep(0)
    assert not sends[3].done() and not sends[4].done()  # waiting for room, not buffering
    drain = threading.Thread(target=lambda: [b.recv_bytes() for _ in range(5)])
    drain.start()
    await asyncio.wait_for(asyncio.gather(*sends[3:]), 10)
    writer.close()
    await asyncio.get_running_loop().run_in_executor(None, drain.join, 10)


def test_an_oversized_frame_is_skipped_and_the_stream_stays_in_step(
    pipe: tuple[Connection, Connection],
) -> None:
    a, b = pipe

    def send_three() -> None:
        for frame in (b"first", b'{"id":5,' + b"y" * 9000, b"last"):
            a.send_bytes(frame)

    sender = threading.Thread(target=send_three)
    sender.start()
    reader = FrameReader(b, max_bytes=4096)
    assert reader.read() == b"first"
    skipped = reader.read()
    assert isinstance(skipped, OversizedFrame)
    assert skipped.size == 9008 and skipped.prefix.startswith(b'{"id":5,')
    assert reader.read() == b"last"
    sender.join()
    a.close()
    with pytest.raises(EOFError):
        reader.read()
