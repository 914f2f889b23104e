"""The store and the event log: what is recorded, gap-free seq, replay, persistence
across engines, spilled outputs, variables and checkpoints."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app import (
    Blueprint,
    Conductor,
    ExecutionNotFoundError,
    ExecutionStatus,
    NodeSpec,
    create_conductor,
    create_simple_node,
)
from app.operations import ExecuteRequest, ExecutionReply
from main_process.direct import DirectTransport
from main_process.engine.engine import Engine
from main_process.store.chunks import decode_nodes


def three_steps() -> Blueprint:
    return Blueprint(
        id="three",
        nodes=[
            NodeSpec(id="a", type="set", params={"value": {"n": 1}}),
            NodeSpec(id="b", type="json.transform", params={"expression": "n"}),
            NodeSpec(id="c", type="log", params={"message": "n is {{ input }}"}),
        ],
    )


async def test_events_are_gap_free_and_end_with_the_terminal_one(conductor: Conductor) -> None:
    eid = await conductor.start(blueprint=three_steps())
    live = [e async for e in conductor.events(eid)]
    assert [e.seq for e in live] == list(range(1, len(live) + 1))
    assert live[0].kind == "execution" and live[0].status == "pending"
    assert live[-1].is_terminal and live[-1].status == "completed"
    kinds = [(e.kind, e.node_id, e.status) for e in live if e.kind != "log"]
    assert kinds[1] == ("execution", None, "running")
    assert ("node", "b", "completed") in kinds
    assert any(e.kind == "log" and e.data and e.data["message"] == "n is 1" for e in live)
    replay = [e async for e in conductor.events(eid)]
    assert replay == live
    tail = [e async for e in conductor.events(eid, after_seq=3)]
    assert tail == live[3:]


async def test_results_survive_the_engine(home: Path) -> None:
    first = create_conductor("direct", home=home, plugins=False)
    result = await first.execute(blueprint=three_steps())
    await first.close()
    second = create_conductor("direct", home=home, plugins=False)
    try:
        again = await second.get_execution(result.execution_id)
        assert again.status is ExecutionStatus.COMPLETED
        assert again.outputs == result.outputs == 1
        assert {k: v.status for k, v in again.nodes.items()} == {
            k: v.status for k, v in result.nodes.items()
        }
        assert again.nodes["a"].output == {"n": 1}
        listed = await second.list_executions()
        assert [s.execution_id for s in listed] == [result.execution_id]
        events = [e async for e in second.events(result.execution_id)]
        assert events[-1].status == "completed"
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
    finally:
        await second.close()
    conn = sqlite3.connect(home / "conductor.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    recorded = {
        record["node_id"]
        for (chunk,) in conn.execute("SELECT chunk FROM node_runs")
        for record in decode_nodes(chunk)
    }
    assert recorded == {"a", "b", "c"}


async def test_unknown_execution_is_a_typed_error(conductor: Conductor) -> None:
    with pytest.raises(ExecutionNotFoundError, match="no execution 'nope'"):
        await conductor.get_execution("nope")
    with pytest.raises(ExecutionNotFoundError):
        await conductor.cancel("nope")
    with pytest.raises(ExecutionNotFoundError):
        [e async for e in conductor.events("nope")]


async def test_large_outputs_are_spilled_to_files_and_read_back(home: Path) -> None:
    async def big(value: Any) -> list[dict[str, Any]]:
        return [{"id": i, "name": f"item {i}"} for i in range(20_000)]

    c = create_conductor("direct", home=home, plugins=False)
    result = await c.execute(
        blueprint=Blueprint(id="big", nodes=[create_simple_node("b", "b", big)])
    )
    await c.close()
    spilled = list((home / "outputs" / result.execution_id).glob("*.json"))
    assert len(spilled) == 1
    c = create_conductor("direct", home=home, plugins=False)
    try:
        again = await c.get_execution(result.execution_id)
        assert again.nodes["b"].output == result.nodes["b"].output
        assert len(again.nodes["b"].output) == 20_000
    finally:
        await c.close()


async def test_state_manager_variables_and_checkpoints(home: Path) -> None:
    engine = Engine(home, plugins=False)
    try:

        async def remember(value: Any, ctx: Any) -> int:
            ctx.set_variable("seen", value["n"])
            return int(ctx.get_variable("seen")) + 1

        bp = Blueprint(
            id="vars",
            nodes=[
                NodeSpec(id="a", type="set", params={"value": {"n": 41}}),
                create_simple_node("b", "r", remember),
            ],
        )
        result = await engine.execute(blueprint=bp)
        assert result.outputs == 42
        assert engine.states.get_variable(result.execution_id, "seen") == 41

        eid = await engine.start(blueprint=three_steps())
        assert engine.states.get_active(eid) is not None
        checkpoint = engine.states.create_checkpoint(eid, "early")
        await engine.wait(eid)
        snapshot = engine.states.restore_checkpoint(eid, checkpoint)
        assert set(snapshot) == {"nodes", "variables"}
    finally:
        await engine.close()


async def test_subscribers_hear_every_event(home: Path) -> None:
    transport = DirectTransport(home, plugins=False)
    heard: list[Any] = []
    transport.engine.states.subscribe(heard.append)
    try:
        reply = await transport.handle(ExecuteRequest(blueprint=three_steps()))
        assert isinstance(reply, ExecutionReply)
        result = reply.result
    finally:
        await transport.close()
    mine = [e for e in heard if e.execution_id == result.execution_id]
    assert mine[-1].status == "completed"
    assert [e.seq for e in mine] == list(range(1, len(mine) + 1))


async def test_a_newer_schema_is_refused(home: Path) -> None:
    from app.errors import StoreError
    from main_process.store import Store

    Store(home).close()
    conn = sqlite3.connect(home / "conductor.db")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StoreError, match="newer than this Conductor"):
        Store(home)


async def test_an_unopenable_data_dir_is_a_store_error(tmp_path: Path) -> None:
    from app.errors import StoreError
    from main_process.store import Store

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(blocker / "home")


async def test_a_slow_follower_catches_up_without_gaps(
    conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from main_process.events import follow as event_follow

    monkeypatch.setattr(event_follow, "PAGE", 64)
    release = asyncio.Event()

    async def chatty(value: Any, ctx: Any) -> int:
        await release.wait()
        for i in range(2000):
            ctx.log(f"line {i}")
        return 1

    bp = Blueprint(id="chatty", nodes=[create_simple_node("c", "c", chatty)])
    eid = await conductor.start(blueprint=bp)
    stream = conductor.events(eid)
    first = await anext(stream)  # subscribed; now stop reading while 2,000 events arrive
    release.set()
    result = await conductor.wait(eid)
    assert result.success
    rest = [e async for e in stream]
    seqs = [first.seq] + [e.seq for e in rest]
    assert seqs == list(range(1, len(seqs) + 1))
    assert rest[-1].is_terminal
    assert sum(1 for e in rest if e.kind == "log") == 2000


async def test_an_execution_id_is_on_disk_before_start_returns(
    conductor: Conductor, home: Path
) -> None:
    import asyncio

    gate = asyncio.Event()

    async def held(value: Any) -> int:
        await gate.wait()
        return 1

    eid = await conductor.start(
        blueprint=Blueprint(id="held", nodes=[create_simple_node("h", "h", held)])
    )
    conn = sqlite3.connect(home / "conductor.db")
    try:
        row = conn.execute("SELECT blueprint_id FROM executions WHERE id = ?", (eid,)).fetchone()
    finally:
        conn.close()
    assert row == ("held",)
    gate.set()
    assert (await conductor.wait(eid)).success
