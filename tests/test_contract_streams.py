"""Streams of items over every transport — in-process (direct), a spawned worker over a
pipe (ipc), a real HTTP server (http): the same results, the same paged record, and
the same validation problem."""

from __future__ import annotations

from app import Conductor


async def test_a_stream_runs_and_pages_alike_on_every_transport(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint_id="streaming-items")
    assert result.success, result.error
    assert result.outputs == {"total": 99990000, "items": 10000}
    summary = result.nodes["double"].output["stream"]
    assert summary["items"] == 10000 and len(summary["preview"]) == 1000
    page = await any_conductor.node_output(result.execution_id, "double", offset=5, limit=2)
    assert page.kind == "list" and page.total == 1000
    assert page.items == [{"n": 5, "double": 10}, {"n": 6, "double": 12}]


async def test_a_stream_into_a_whole_value_node_is_refused_alike(any_conductor: Conductor) -> None:
    problems = await any_conductor.validate(
        {
            "id": "mismatch",
            "nodes": [
                {"id": "numbers", "type": "generate", "params": {"count": 3}},
                {"id": "log", "type": "log", "params": {"message": "hi"}},
            ],
        }
    )
    assert [p.code for p in problems] == ["stream"]
    assert "'numbers'" in problems[0].message and "'log'" in problems[0].message
