"""Paging through node outputs: the same pages and the same errors over every transport
— in-process (direct), a spawned worker over a pipe (ipc), a real HTTP server (http) —
and a page of a huge output stays small on the wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app import Conductor
from app.errors import ConfigError, ExecutionNotFoundError
from app.operations import NodeOutputReply, NodeOutputRequest
from app.results import OutputPage
from ipc.messages import ReplyFrame, encode
from main_process.engine.engine import Engine
from tests.main_process.http_harness import AUTH, running_server


def shapes() -> dict[str, Any]:
    """One node per output kind."""
    record = {f"k{i:02d}": i for i in range(30)}
    return {
        "id": "shapes",
        "nodes": [
            {"id": "obj", "type": "set", "params": {"value": record}},
            {"id": "num", "type": "set", "params": {"value": 42}},
            {"id": "nothing", "type": "set", "params": {"value": None}},
        ],
        "edges": [],
    }


async def test_paging_through_a_large_list(any_conductor: Conductor) -> None:
    count = 25_000
    result = await any_conductor.execute(blueprint_id="large-items", inputs={"count": count})
    assert result.success, result.error
    eid = result.execution_id
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = await any_conductor.node_output(eid, "generate", offset=offset, limit=5_000)
        assert (page.kind, page.total, page.offset, page.limit) == ("list", count, offset, 5_000)
        if not page.items:
            break
        seen.extend(page.items)
        offset += len(page.items)
    assert len(seen) == count
    assert seen[0] == {"id": 0, "group": "g0", "value": 0}
    assert seen[-1] == {"id": count - 1, "group": f"g{(count - 1) % 10}", "value": (count - 1) % 97}
    assert [item["id"] for item in seen] == list(range(count))
    first = await any_conductor.node_output(eid, "generate")
    assert (first.offset, first.limit, len(first.items)) == (0, 100, 100)
    assert first.size_bytes > 25 * count  # the whole output's size, not the page's
    stats = await any_conductor.node_output(eid, "stats")
    assert stats.kind == "object" and [k for k, _ in stats.items] == ["kept", "total", "max"]


async def test_object_scalar_and_empty_outputs(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint=shapes())
    assert result.success, result.error
    eid = result.execution_id
    obj = await any_conductor.node_output(eid, "obj", offset=25, limit=10)
    assert (obj.kind, obj.total, obj.node_id, obj.execution_id) == ("object", 30, "obj", eid)
    assert obj.items == [[f"k{i}", i] for i in range(25, 30)]
    num = await any_conductor.node_output(eid, "num")
    assert (num.kind, num.total, num.items) == ("scalar", 1, [42])
    assert num.size_bytes == 2
    past = await any_conductor.node_output(eid, "num", offset=1)
    assert (past.kind, past.items) == ("scalar", [])
    nothing = await any_conductor.node_output(eid, "nothing")
    assert (nothing.kind, nothing.total, nothing.items) == ("none", 0, [])


async def test_unknown_ids_and_bad_bounds_are_typed_errors(any_conductor: Conductor) -> None:
    with pytest.raises(ExecutionNotFoundError) as missing:
        await any_conductor.node_output("no-such-execution", "a")
    assert missing.value.where == "execution_id"
    eid = (await any_conductor.execute(blueprint=shapes())).execution_id
    with pytest.raises(ExecutionNotFoundError) as ghost:
        await any_conductor.node_output(eid, "ghost")
    assert "ghost" in ghost.value.message and ghost.value.node_id == "ghost"
    bad: list[tuple[dict[str, int], str]] = [
        ({"offset": -1}, "offset"),
        ({"limit": -5}, "limit"),
        ({"limit": 10_001}, "limit"),
    ]
    for bounds, field in bad:
        with pytest.raises(ConfigError) as caught:
            await any_conductor.node_output(eid, "obj", **bounds)
        assert caught.value.where == field
        # Past the facade: the engine checks too, for raw pipe and HTTP clients.
        with pytest.raises(ConfigError) as raw:
            await any_conductor.transport.handle(
                NodeOutputRequest(execution_id=eid, node_id="obj", **bounds)
            )
        assert raw.value.where == field


async def test_a_page_of_a_huge_output_is_small_on_the_wire(home: Path, tmp_path: Path) -> None:
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        result = await engine.execute(blueprint_id="large-items", inputs={"count": 100_000})
        assert result.success, result.error
        eid = result.execution_id
        async with running_server(engine) as url, httpx.AsyncClient() as client:
            response = await client.get(
                f"{url}/v1/executions/{eid}/nodes/generate/output",
                params={"offset": 50_000, "limit": 100},
                headers=AUTH,
            )
            assert response.status_code == 200
            page = OutputPage.model_validate_json(response.content)
            unauthorised = await client.get(f"{url}/v1/executions/{eid}/nodes/generate/output")
            assert unauthorised.status_code == 401
    finally:
        await engine.close()
    assert (page.total, len(page.items), page.items[0]["id"]) == (100_000, 100, 50_000)
    assert page.size_bytes > 3_000_000
    assert len(response.content) < 20_000
    frame = encode(ReplyFrame(id=1, reply=NodeOutputReply(result=page)))  # what the worker sends
    assert len(frame) < 20_000


async def test_an_active_execution_pages_from_memory(any_conductor: Conductor) -> None:
    slow = {
        "id": "slow",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": list(range(300))}},
            {"id": "wait", "type": "delay", "params": {"seconds": 30}},
        ],
    }
    eid = await any_conductor.start(blueprint=slow)
    async for event in any_conductor.events(eid):
        if event.node_id == "wait" and event.status == "running":
            break
    page = await any_conductor.node_output(eid, "first", offset=250)
    assert (page.kind, page.total, page.items) == ("list", 300, list(range(250, 300)))
    waiting = await any_conductor.node_output(eid, "wait")
    assert waiting.kind == "none"
    await any_conductor.cancel(eid)
    await any_conductor.wait(eid)
