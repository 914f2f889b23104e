"""The event-stream budget of ``conductor serve``: stalled clients are dropped, resume
with ``Last-Event-ID`` without a gap, and a client that reads is left alone.

A real uvicorn server on 127.0.0.1 in the test's loop, raw socket clients that read
nothing (a 4 KiB receive buffer), and a budget small enough to be exceeded by a few.
The crowd of 200 against a ``conductor serve`` process is in tests/reliability.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.events import Event
from main_process.engine.engine import Engine
from main_process.engine.execution_state import event_from_row
from main_process.http.events import sse_message
from main_process.http.sse_budget import SseBudget, SseEncoder, sse_row
from main_process.store.chunks import EventRow
from tests.main_process.http_harness import TOKEN, running_server, wait_until
from tests.reliability.load_crowd import CrowdClient
from tests.reliability.load_mix import EMIT_LOGS


def test_messages_from_rows_are_the_event_models_messages() -> None:
    rows = [
        EventRow("e1", 1, 1796588619.9753954, "execution", None, "pending", None, {"a": [1]}),
        EventRow("e1", 2, 0.1, "node", "n", "failed", 2, {"error": {"type": "X", "message": "é"}}),
        EventRow("e1", 3, 17.0, "log", "n", None, None, {"message": "line\n2", "level": "info"}),
        EventRow("e1", 4, 1e-7, "future.kind", None, "odd", None, None),
        EventRow("e1", 5, 3.5, "node", "n", "completed", 1, {"output_size": 2**70}),
    ]
    for row in rows:
        assert sse_row(row) == sse_message(event_from_row(row)), row
    encoder = SseEncoder(max_bytes=400)
    page = encoder.page(rows)
    assert page == b"".join(sse_message(event_from_row(row)) for row in rows)
    assert encoder.page(rows) == page  # from the cache, which stays within its bound


async def _crowd(url: str, eid: str, n: int) -> list[CrowdClient]:
    """``n`` clients that read nothing yet; every other one resumes with ``?after=``."""
    crowd = [
        CrowdClient(url, f"/v1/executions/{eid}/events", TOKEN, by_query=i % 2 == 1)
        for i in range(n)
    ]
    for member in crowd:
        await member.connect()
    return crowd


async def test_stalled_clients_are_dropped_and_resume_without_a_gap(
    home: Path, tmp_path: Path
) -> None:
    budget = SseBudget(256 * 1024)
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    crowd: list[CrowdClient] = []
    try:
        async with running_server(engine, sse_budget=budget) as url:
            eid = await engine.start(blueprint=EMIT_LOGS, inputs={"count": 20_000})
            crowd = await _crowd(url, eid, 12)
            await engine.wait(eid)
            await wait_until(lambda: budget.dropped > 0)
            # Checked when a chunk is added, the budget can be passed for a moment by the
            # pages pumps pulled ahead since (one each); dropping brings it back under.
            await wait_until(lambda: budget.held() <= budget.total_bytes)
            await asyncio.wait_for(asyncio.gather(*(m.drain() for m in crowd)), 60)
            await wait_until(lambda: budget.streams == 0)
        last = (await engine.get_execution(eid)).last_seq
    finally:
        for member in crowd:
            member.close()
        await engine.close()
    assert budget.dropped >= 1
    resumed = [m for m in crowd if m.connections > 1]
    assert resumed  # some had to resume (by Last-Event-ID or ?after=)...
    for member in crowd:  # ...and every one saw every event once, in order, to the end
        assert (member.ended, member.last, member.gaps) == (True, last, 0)


async def test_a_client_that_reads_is_not_dropped(home: Path, tmp_path: Path) -> None:
    budget = SseBudget(128 * 1024)
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    crowd: list[CrowdClient] = []
    try:
        async with running_server(engine, sse_budget=budget) as url:
            eid = await engine.start(blueprint=EMIT_LOGS, inputs={"count": 20_000})
            crowd = await _crowd(url, eid, 8)
            reader = CrowdClient(url, f"/v1/executions/{eid}/events", TOKEN, rcvbuf=1 << 20)
            await reader.connect()
            await asyncio.wait_for(reader.drain(max_connections=1), 60)
            await wait_until(lambda: budget.dropped > 0)
        last = (await engine.get_execution(eid)).last_seq
    finally:
        for member in crowd:
            member.close()
        await engine.close()
    assert (reader.connections, reader.ended, reader.last, reader.gaps) == (1, True, last, 0)


@pytest.mark.parametrize("count", [0, 3])
async def test_a_stream_ends_cleanly_within_the_budget(
    home: Path, tmp_path: Path, count: int
) -> None:
    budget = SseBudget()
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        async with running_server(engine, sse_budget=budget) as url:
            eid = await engine.start(blueprint=EMIT_LOGS, inputs={"count": count})
            (member,) = await _crowd(url, eid, 1)
            await asyncio.wait_for(member.drain(max_connections=1), 30)
            await wait_until(lambda: budget.streams == 0)
        events: list[Event] = await engine.recorded_events(eid, 0)
    finally:
        await engine.close()
    assert (member.last, member.gaps, budget.dropped) == (events[-1].seq, 0, 0)
