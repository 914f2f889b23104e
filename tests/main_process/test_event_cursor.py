"""The one event cursor: pull-based, gap-free, no buffer per consumer.

Every transport's ``events()`` is an adapter over it, so these properties hold for
SSE, the pipe and in-process followers alike.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app import Blueprint, create_simple_node
from main_process.engine.engine import Engine


def _chatty(gate: asyncio.Event, lines: int) -> Blueprint:
    async def chatty(value: Any, ctx: Any) -> int:
        await gate.wait()
        for i in range(lines):
            ctx.log(f"line {i}")
        await gate.wait()
        return 1

    return Blueprint(id="chatty", nodes=[create_simple_node("c", "c", chatty)])


async def test_a_consumer_that_stops_pulling_holds_nothing_and_misses_nothing(
    home: Path,
) -> None:
    engine = Engine(home, plugins=False)
    engine.states.memory_events = 200  # most of the run is read back from the store
    gate = asyncio.Event()
    try:
        eid = await engine.start(blueprint=_chatty(gate, 3000))
        cursor = await engine.cursor(eid)
        first = await cursor.next_page(1)
        assert first is not None and first[0].seq == 1
        state = engine.states.get_active(eid)
        assert state is not None
        assert state.watchers == []  # not pulling: not subscribed to anything
        gate.set()
        result = await engine.wait(eid)
        seqs = [1]
        while (page := await cursor.next_page(500)) is not None:
            assert len(page) <= 500
            seqs += [row.seq for row in page]
    finally:
        await engine.close()
    assert seqs == list(range(1, (result.last_seq or 0) + 1))


async def test_a_cancelled_pull_loses_nothing(home: Path) -> None:
    engine = Engine(home, plugins=False)
    gate = asyncio.Event()
    try:
        eid = await engine.start(blueprint=_chatty(gate, 10))
        state = engine.states.get_active(eid)
        assert state is not None
        while state.nodes["c"].status != "running":  # the node waits at its gate
            await asyncio.sleep(0.01)
        cursor = await engine.cursor(eid)
        seqs: list[int] = []
        while (page := await cursor.read()) != []:
            seqs += [row.seq for row in page]
        waiting = asyncio.ensure_future(cursor.next_page())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # it is waiting for news
        waiting.cancel()
        gate.set()
        await engine.wait(eid)
        while (page := await cursor.next_page()) is not None:
            seqs += [row.seq for row in page]
        result = await engine.get_execution(eid)
    finally:
        await engine.close()
    assert seqs == list(range(1, (result.last_seq or 0) + 1))


async def test_a_finished_execution_is_read_from_the_store_and_ends(home: Path) -> None:
    engine = Engine(home, plugins=False)
    gate = asyncio.Event()
    gate.set()
    try:
        result = await engine.execute(blueprint=_chatty(gate, 5))
        cursor = await engine.cursor(result.execution_id, after_seq=3)
        page = await cursor.next_page()
        assert page is not None
        assert [row.seq for row in page] == list(range(4, (result.last_seq or 0) + 1))
        assert await cursor.next_page() is None
    finally:
        await engine.close()
