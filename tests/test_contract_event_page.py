"""Reading an execution's event log by page (what time travel reads): the same pages
and the same errors over every transport — in-process, a spawned worker over a pipe,
a real HTTP server — for finished and for running executions."""

from __future__ import annotations

import asyncio

import pytest

from app import Conductor
from app.errors import ConfigError, ExecutionNotFoundError
from app.events import Event, ExecutionEvent, NodeEvent
from app.operations import EventPageRequest
from app.states import ExecutionStatus


async def _all_events(conductor: Conductor, execution_id: str) -> list[Event]:
    async def collect() -> list[Event]:
        return [event async for event in conductor.events(execution_id)]

    return await asyncio.wait_for(collect(), 60)


async def test_pages_concatenate_to_the_whole_log(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint_id="fan-out-fan-in")
    assert result.success, result.error
    eid = result.execution_id
    whole = await _all_events(any_conductor, eid)
    assert len(whole) > 10
    pages: list[Event] = []
    after = 0
    while True:
        page = await any_conductor.event_page(eid, after_seq=after, limit=7)
        assert page.execution_id == eid and page.after_seq == after
        assert len(page.events) <= 7
        assert not page.live  # finished: nothing more will come
        pages.extend(page.events)
        if not page.more:
            break
        after = page.last_seq
    assert [e.seq for e in pages] == list(range(1, len(whole) + 1))  # gap-free, in order
    assert [e.model_dump() for e in pages] == [e.model_dump() for e in whole]
    assert isinstance(pages[0], ExecutionEvent)
    assert any(isinstance(e, NodeEvent) for e in pages)
    assert pages[-1].status is ExecutionStatus.COMPLETED
    tail = await any_conductor.event_page(eid, after_seq=len(whole))
    assert (tail.events, tail.more, tail.last_seq) == ([], False, len(whole))


async def test_a_running_execution_pages_what_is_recorded_and_says_live(
    any_conductor: Conductor,
) -> None:
    blueprint = {
        "id": "slow-pair",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": 1}},
            {"id": "wait", "type": "delay", "params": {"seconds": 30}},
        ],
    }
    eid = await any_conductor.start(blueprint=blueprint)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            page = await any_conductor.event_page(eid)
            if any(e.node_id == "wait" and e.status == "running" for e in page.events):
                break
            assert loop.time() < deadline, page
            await asyncio.sleep(0.05)
        assert page.live
        assert [e.seq for e in page.events] == list(range(1, len(page.events) + 1))
    finally:
        await any_conductor.cancel(eid)
    await any_conductor.wait(eid)
    final = await any_conductor.event_page(eid, limit=10_000)
    assert not final.live and not final.more
    assert final.events[-1].status is ExecutionStatus.CANCELLED


async def test_unknown_ids_and_bad_bounds_are_typed_errors(any_conductor: Conductor) -> None:
    with pytest.raises(ExecutionNotFoundError) as missing:
        await any_conductor.event_page("no-such-execution")
    assert missing.value.where == "execution_id"
    eid = (await any_conductor.execute(blueprint_id="branch")).execution_id
    bad: list[tuple[dict[str, int], str]] = [
        ({"after_seq": -1}, "after_seq"),
        ({"after_seq": 2**62 + 1}, "after_seq"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
    ]
    for bounds, field in bad:
        with pytest.raises(ConfigError) as caught:
            await any_conductor.event_page(eid, **bounds)
        assert caught.value.where == field
        # Past the facade: the engine checks too, for raw pipe and HTTP clients.
        with pytest.raises(ConfigError) as raw:
            await any_conductor.transport.handle(EventPageRequest(execution_id=eid, **bounds))
        assert raw.value.where == field
