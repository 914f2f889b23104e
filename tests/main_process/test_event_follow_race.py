"""A follower whose backlog read overtakes the run's end still ends.

Regression: ``follow`` read the record (the backlog) while its listener buffered
the live events. When the run ended while the backlog was being read, the backlog
already held the terminal event, so the buffered copy was skipped as seen — and
the follower waited for an event that would never come. Under load (200
concurrent SSE streams) one stream in a few hundred hung this way, answering
keep-alives forever.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app import Blueprint, create_simple_node
from main_process.engine.engine import Engine
from main_process.events import follow as event_follow


async def test_a_follower_ends_when_its_backlog_reaches_the_terminal_event(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_follow, "PAGE", 2)  # the backlog takes several reads
    gate = asyncio.Event()

    async def wait_for_gate(value: Any) -> int:
        await gate.wait()
        return 1

    engine = Engine(home, plugins=False)
    try:
        bp = Blueprint(id="gated", nodes=[create_simple_node("g", "g", wait_for_gate)])
        eid = await engine.start(blueprint=bp)
        await asyncio.sleep(0)  # let the node start: its events are in the backlog
        stream = engine.events(eid)
        first = await anext(stream)  # listening, and paused inside the backlog
        gate.set()
        result = await engine.wait(eid)  # the run ends (and is released) meanwhile
        rest = await asyncio.wait_for(_collect(stream), 10.0)
    finally:
        await engine.close()
    seqs = [first.seq, *(e.seq for e in rest)]
    assert seqs == list(range(1, (result.last_seq or 0) + 1))
    assert rest[-1].is_terminal


async def _collect(stream: Any) -> list[Any]:
    return [event async for event in stream]
