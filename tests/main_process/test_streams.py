"""Streams of items between nodes, on a real engine with its real SQLite store:
back-pressure, a failing consumer closing its producer, a mid-stream error naming
the item, the diamond, the validation problem, recording (summary and full), resume,
and the example blueprint."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app import Blueprint, EdgeSpec, NodeSpec, create_simple_node
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_buffer(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("CONDUCTOR_STREAM_BUFFER_ITEMS", "100")
    return 100


def w5(items: int) -> Blueprint:
    def produce(value: Any) -> Iterator[dict[str, Any]]:
        for i in range(items):
            yield {"id": i, "value": i % 100}

    def double(item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "double": item["value"] * 2}

    return Blueprint(
        id="w5-stream",
        nodes=[
            create_simple_node("produce", "produce", produce),
            create_simple_node("map", "double", double, per_item=True),
            NodeSpec(id="sum", type="sum", params={"field": "double"}),
        ],
    )


async def test_w5_stream_sums_like_the_list_version(engine: Engine) -> None:
    items = 20_000
    result = await engine.execute(blueprint=w5(items))
    assert result.success, result.error
    listed = [{"id": i, "value": i % 100} for i in range(items)]
    assert result.outputs == sum(item["value"] * 2 for item in listed)
    summary = result.nodes["map"].output["stream"]
    assert summary["items"] == items and summary["record"] == "summary"
    assert len(summary["preview"]) == 1000 and summary["preview"][3]["double"] == 6


async def test_the_producer_blocks_when_the_buffer_is_full(
    engine: Engine, small_buffer: int
) -> None:
    produced = 0
    finished = 0
    ahead: list[int] = []

    def produce(value: Any) -> Iterator[int]:
        nonlocal produced
        for i in range(5000):
            produced += 1
            ahead.append(produced - finished)
            yield i

    async def slow(item: int) -> int:
        nonlocal finished
        await asyncio.sleep(0)  # the producer gets every chance to run ahead
        finished += 1
        return item

    bp = Blueprint(
        id="pressure",
        nodes=[
            create_simple_node("produce", "produce", produce, runner="inline"),
            create_simple_node("slow", "slow", slow, per_item=True),
            NodeSpec(id="count", type="count"),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    assert result.outputs == 5000
    assert max(ahead) <= small_buffer  # items in flight never exceed the bound
    assert max(ahead) > 10  # and it did run ahead, up to the bound


async def test_a_failing_consumer_closes_the_generator(engine: Engine, small_buffer: int) -> None:
    closed = asyncio.Event()
    produced = 0

    async def produce(value: Any) -> AsyncIterator[int]:
        nonlocal produced
        try:
            while True:  # endless: only closing it stops it
                produced += 1
                yield produced
        finally:
            closed.set()

    def picky(item: int) -> int:
        if item == 250:
            raise ValueError("no 250")
        return item

    bp = Blueprint(
        id="closes",
        nodes=[
            create_simple_node("produce", "produce", produce),
            create_simple_node("picky", "picky", picky, per_item=True),
            NodeSpec(id="sum", type="sum"),
        ],
    )
    result = await asyncio.wait_for(engine.execute(blueprint=bp), 60)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and result.error.node_id == "picky"
    assert "item 249" in result.error.message and "no 250" in result.error.message
    await asyncio.wait_for(closed.wait(), 10)  # the generator's finally ran
    assert produced < 250 + 2 * small_buffer  # it stopped near the failure
    producer = result.nodes["produce"]  # cancelled, or stopped once no consumer was left
    assert producer.status is NodeStatus.CANCELLED or "stopped" in producer.output["stream"]


async def test_a_thread_generator_is_closed_too(engine: Engine, small_buffer: int) -> None:
    closed: list[bool] = []

    def produce(value: Any) -> Iterator[int]:
        try:
            yield from range(10**9)
        finally:
            closed.append(True)

    def picky(item: int) -> int:
        if item == 500:
            raise ValueError("no 500")
        return item

    bp = Blueprint(
        id="closes-thread",
        nodes=[
            create_simple_node("produce", "produce", produce),
            create_simple_node("picky", "picky", picky, per_item=True),
            NodeSpec(id="count", type="count"),
        ],
    )
    result = await asyncio.wait_for(engine.execute(blueprint=bp), 60)
    assert result.status is ExecutionStatus.FAILED
    for _ in range(1000):  # a pull still running on its thread closes it when done
        if closed:
            break
        await asyncio.sleep(0.01)
    assert closed == [True]


async def test_a_mid_stream_error_fails_the_node_naming_the_item_index(engine: Engine) -> None:
    def produce(value: Any) -> Iterator[dict[str, int]]:
        for i in range(10):
            if i == 7:
                raise RuntimeError("sensor offline")
            yield {"n": i}

    bp = Blueprint(
        id="breaks",
        nodes=[create_simple_node("produce", "produce", produce), NodeSpec(id="c", type="collect")],
    )
    result = await engine.execute(blueprint=bp)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and result.error.node_id == "produce"
    assert result.error.type == "StreamError"
    assert "item 7" in result.error.message and "sensor offline" in result.error.message
    # The user's line that raised is in the recorded traceback, not only engine frames.
    trace = result.error.traceback or ""
    assert "in produce" in trace and 'raise RuntimeError("sensor offline")' in trace
    assert result.nodes["c"].status in (NodeStatus.FAILED, NodeStatus.CANCELLED)


async def test_the_diamond_does_not_deadlock(engine: Engine, small_buffer: int) -> None:
    bp = Blueprint(
        id="diamond",
        nodes=[
            NodeSpec(id="a", type="generate", params={"count": 5000, "field": "n"}),
            NodeSpec(id="b", type="json.transform", params={"expression": "n", "per_item": True}),
            NodeSpec(
                id="c",
                type="set",
                params={"value": {"twice": "{{ input.n * 2 }}"}, "per_item": True},
            ),
            NodeSpec(id="d", type="count"),
        ],
        edges=[
            EdgeSpec(source="a", target="b"),
            EdgeSpec(source="a", target="c"),
            EdgeSpec(source="b", target="d"),
            EdgeSpec(source="c", target="d"),
        ],
    )
    result = await asyncio.wait_for(engine.execute(blueprint=bp), 60)
    assert result.success, result.error
    assert result.outputs == {"d": {"b": 5000, "c": 5000}}
    assert result.nodes["c"].output["stream"]["preview"][2] == {"twice": 4}


async def test_a_stream_into_a_node_that_needs_a_whole_value_names_both(engine: Engine) -> None:
    bp = Blueprint(
        id="mismatch",
        nodes=[
            NodeSpec(id="numbers", type="generate", params={"count": 3}),
            NodeSpec(id="shape", type="json.transform", params={"expression": "length(@)"}),
        ],
    )
    problems = await engine.validate(bp)
    assert len(problems) == 1
    assert "'numbers'" in problems[0].message and "'shape'" in problems[0].message
    assert problems[0].where == "nodes[1]" and problems[0].code == "stream"


async def test_an_undeclared_generator_is_a_typed_failure(engine: Engine) -> None:
    bp = Blueprint(
        id="undeclared",
        nodes=[
            NodeSpec(
                id="gen",
                type="python.function",
                params={"function": "tests.main_process.test_streams:numbers"},
            )
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.error is not None and result.error.type == "StreamError"
    assert result.error.node_id == "gen" and "does not declare a stream" in result.error.message


def numbers(value: Any) -> Iterator[int]:
    """A generator function named by python.function (with and without ``stream``)."""
    yield from range(int(value or 0) if not isinstance(value, dict) else 2500)


async def test_python_function_stream_and_record_full_pages_every_item(engine: Engine) -> None:
    bp = Blueprint(
        id="full",
        nodes=[
            NodeSpec(
                id="gen",
                type="python.function",
                params={"function": "tests.main_process.test_streams:numbers", "stream": True},
                record="full",
            ),
            NodeSpec(id="total", type="sum"),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    assert result.outputs == sum(range(2500))
    page = await engine.node_output(result.execution_id, "gen", offset=1990, limit=20)
    assert page.total == 2500 and page.items == list(range(1990, 2010))
    last = await engine.node_output(result.execution_id, "gen", offset=2490, limit=100)
    assert last.items == list(range(2490, 2500))


async def test_a_summary_record_pages_its_preview(engine: Engine) -> None:
    bp = Blueprint(
        id="preview",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"start": 1, "stop": 3001, "field": "n"}),
            NodeSpec(id="n", type="count"),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success and result.outputs == 3000
    summary = result.nodes["gen"].output["stream"]
    assert summary["items"] == 3000 and summary["chunks"] >= 3
    assert summary["bytes"] == len(str([{"n": i} for i in range(1, 3001)]).replace(" ", ""))
    page = await engine.node_output(result.execution_id, "gen", offset=998, limit=10)
    assert page.total == 1000 and page.items == [{"n": 999}, {"n": 1000}]
    assert page.size_bytes == summary["bytes"]


async def test_sqlite_write_consumes_a_stream_and_resume_reruns_the_producer(
    engine: Engine, tmp_path: Path
) -> None:
    database = tmp_path / "out.db"
    bp = Blueprint(
        id="stream-to-sqlite",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"count": 2500, "field": "n"}),
            NodeSpec(
                id="save",
                type="sqlite.write",
                params={"database": str(database), "table": "rows", "create": False},
            ),
        ],
    )
    await engine.save_blueprint(bp)
    failed = await engine.execute(blueprint_id="stream-to-sqlite")
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error is not None and failed.error.node_id == "save"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE rows (n INTEGER)")
    resumed = await engine.resume(failed.execution_id)
    assert resumed.success, resumed.error
    assert resumed.nodes["save"].output == {"written": 2500}
    assert resumed.nodes["gen"].output["stream"]["items"] == 2500
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*), sum(n) FROM rows").fetchone() == (2500, 3123750)


async def test_the_streaming_example_blueprint_runs(engine: Engine) -> None:
    result = await engine.execute(blueprint_id="streaming-items")
    assert result.success, result.error
    assert result.outputs == {"total": 99990000, "items": 10000}


CALLS: list[str] = []
FAIL_LAST = threading.Event()
ENGINES: list[Engine] = []


def counted(value: Any) -> Iterator[dict[str, int]]:
    """A recorded-full producer: how often it runs is what the replay test checks."""
    CALLS.append("run")
    yield from ({"n": i} for i in range(300))


async def fail_last_once(item: dict[str, int], ctx: Any) -> dict[str, int]:
    """Fails on the last item, once the producer's completion is recorded, while
    FAIL_LAST is set."""
    if item["n"] == 299 and FAIL_LAST.is_set():
        state = ENGINES[0].states.require_active(ctx.execution_id)
        for _ in range(2000):
            if state.nodes["gen"].status is NodeStatus.COMPLETED:
                break
            await asyncio.sleep(0.005)
        raise ValueError("not yet")
    return item


async def test_resume_replays_a_fully_recorded_stream(engine: Engine) -> None:
    CALLS.clear()
    FAIL_LAST.set()
    ENGINES[:] = [engine]
    fn = "tests.main_process.test_streams"
    bp = Blueprint(
        id="replay",
        nodes=[
            NodeSpec(
                id="gen",
                type="python.function",
                params={"function": f"{fn}:counted", "stream": True},
                record="full",
            ),
            NodeSpec(
                id="check",
                type="python.function",
                params={"function": f"{fn}:fail_last_once", "per_item": True},
            ),
            NodeSpec(id="total", type="sum", params={"field": "n"}),
        ],
    )
    await engine.save_blueprint(bp)
    failed = await engine.execute(blueprint_id="replay")
    assert failed.error is not None and failed.error.node_id == "check"
    assert failed.nodes["gen"].status is NodeStatus.COMPLETED
    FAIL_LAST.clear()
    resumed = await engine.resume(failed.execution_id)
    assert resumed.success, resumed.error
    assert resumed.outputs == sum(range(300))
    assert CALLS == ["run"]  # the recorded chunks flowed again, not the generator
    page = await engine.node_output(failed.execution_id, "gen", offset=295, limit=10)
    assert page.total == 300 and page.items == [{"n": n} for n in range(295, 300)]


async def test_cancelling_the_execution_closes_every_generator(engine: Engine) -> None:
    closed = asyncio.Event()
    flowing = asyncio.Event()

    async def produce(value: Any) -> AsyncIterator[int]:
        try:
            n = 0
            while True:
                n += 1
                if n == 5000:
                    flowing.set()
                yield n
        finally:
            closed.set()

    async def slow(item: int) -> int:
        await asyncio.sleep(0)
        return item

    bp = Blueprint(
        id="cancel-stream",
        nodes=[
            create_simple_node("produce", "produce", produce),
            create_simple_node("slow", "slow", slow, per_item=True),
            NodeSpec(id="n", type="count"),
        ],
    )
    eid = await engine.start(blueprint=bp)
    await asyncio.wait_for(flowing.wait(), 30)
    assert await engine.cancel(eid)
    result = await asyncio.wait_for(engine.wait(eid), 30)
    assert result.status is ExecutionStatus.CANCELLED
    await asyncio.wait_for(closed.wait(), 10)
    assert {node.status for node in result.nodes.values()} == {NodeStatus.CANCELLED}


async def test_progress_notes_count_items_and_carry_none(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from main_process.streams import running

    monkeypatch.setattr(running, "PROGRESS_S", 0.0)  # a note per chunk
    bp = Blueprint(
        id="progress",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"count": 2000, "field": "n"}),
            NodeSpec(id="n", type="count"),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    events = await engine.records.recorded_events(result.execution_id)
    notes = [e.data for e in events if e.kind == "log" and e.node_id == "gen"]
    assert [note["items"] for note in notes if note] == [500, 1000, 1500, 2000]
    assert all(set(note) == {"level", "message", "items"} for note in notes if note)
