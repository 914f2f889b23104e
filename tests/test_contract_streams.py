"""Streams of items over every transport — in-process (direct), a spawned worker over a
pipe (ipc), a real HTTP server (http): the same results, the same paged record, and
the same validation problem. A streamed output comes in a result as a handle (★ result
contract), its summary inline with ``include_node_outputs``."""

from __future__ import annotations

from typing import Any

from app import Conductor
from app.output_handles import EXECUTION_OUTPUTS, OutputHandle


async def test_a_stream_runs_and_pages_alike_on_every_transport(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint_id="streaming-items")
    assert result.success, result.error
    assert result.outputs == {"total": 99990000, "items": 10000}
    handle = result.nodes["double"].output
    assert isinstance(handle, OutputHandle) and handle.node_id == "double"
    assert (handle.value_type, handle.count, handle.record, handle.complete) == (
        "list",
        10000,
        "summary",
        False,
    )
    assert handle.preview == [{"n": i, "double": 2 * i} for i in range(5)]
    page = await any_conductor.node_output(result.execution_id, "double", offset=5, limit=2)
    assert page.kind == "list" and page.total == 1000 and page.stream_items == 10000
    assert page.items == [{"n": 5, "double": 10}, {"n": 6, "double": 12}]
    assert page.size_bytes == handle.size_bytes and not page.complete
    assert len(await any_conductor.fetch_output(handle)) == 1000  # the preview's items
    again = await any_conductor.get_execution(result.execution_id)
    assert again.nodes["double"].output == handle
    inline = await any_conductor.get_execution(result.execution_id, include_node_outputs=True)
    summary = inline.nodes["double"].output["stream"]
    assert summary["items"] == 10000 and len(summary["preview"]) == 1000


def _generate(record: str, outputs: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": f"gen-{record}",
        "nodes": [
            {"id": "gen", "type": "generate", "params": {"count": 2500}, "record": record},
            *([{"id": "n", "type": "count"}] if outputs else []),
        ],
        **({"outputs": outputs} if outputs else {}),
    }


async def test_a_streaming_last_node_s_outputs_is_its_stream_handle(
    any_conductor: Conductor,
) -> None:
    result = await any_conductor.execute(blueprint=_generate("full"))
    assert result.success, result.error
    handle = result.outputs
    assert isinstance(handle, OutputHandle) and handle == result.nodes["gen"].output
    assert (handle.node_id, handle.count, handle.record, handle.complete) == (
        "gen",
        2500,
        "full",
        True,
    )
    assert await any_conductor.fetch_output(handle) == list(range(2500))  # every item
    waited = await any_conductor.wait(result.execution_id)
    assert waited.outputs == handle
    summary = await any_conductor.execute(blueprint=_generate("summary"))
    assert isinstance(summary.outputs, OutputHandle) and not summary.outputs.complete
    assert await any_conductor.fetch_output(summary.outputs) == list(range(1000))


async def test_outputs_naming_a_stream_come_as_a_handle_showing_it_briefly(
    any_conductor: Conductor,
) -> None:
    blueprint = _generate("summary", {"generated": "gen", "count": "n"})
    result = await any_conductor.execute(blueprint=blueprint)
    assert result.success, result.error
    handle = result.outputs
    assert isinstance(handle, OutputHandle) and handle.node_id == EXECUTION_OUTPUTS
    assert (handle.value_type, handle.count, handle.record) == ("object", 2, None)
    assert handle.preview["count"] == 2500
    brief = handle.preview["generated"]["stream"]
    assert brief["items"] == 2500 and brief["preview"] == [0, 1, 2, 3, 4]
    whole = await any_conductor.fetch_output(handle)
    assert whole["count"] == 2500 and whole["generated"]["stream"]["items"] == 2500
    inline = await any_conductor.execute(blueprint=blueprint, include_node_outputs=True)
    assert inline.outputs["count"] == 2500
    assert inline.outputs["generated"]["stream"]["items"] == 2500


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
