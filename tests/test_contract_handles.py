"""Result handles (★ result contract): an output over the inline limit comes as an
:class:`~app.output_handles.OutputHandle` of the same shape on every transport — in
process (direct), a spawned worker over a pipe (ipc), a real HTTP server (http) — its
pages reassemble the exact value, ``include_node_outputs`` carries it inline, small
outputs stay inline, and no event carries item data."""

from __future__ import annotations

from typing import Any

import pytest

from app import Conductor
from app.output_handles import EXECUTION_OUTPUTS, OutputHandle, inline_limit, json_size
from app.results import ExecutionResult, NodeResult

#: About 5 MB of JSON: 50,000 records of ~100 bytes.
ITEMS = [{"id": i, "name": f"item-{i}", "pad": "x" * 60} for i in range(50_000)]


def big_blueprint() -> dict[str, Any]:
    """``make`` builds the big list from the inputs; ``count`` is small; ``outputs``
    names both, so the execution's outputs are over the limit too."""
    return {
        "id": "big-output",
        "nodes": [
            {"id": "make", "type": "set", "params": {"value": "{{ inputs.items }}"}},
            {"id": "count", "type": "json.transform", "params": {"expression": "length(@)"}},
        ],
        "edges": [{"source": "make", "target": "count"}],
        "outputs": {"items": "{{ nodes.make.output }}", "n": "{{ nodes.count.output }}"},
    }


def shape(handle: Any) -> dict[str, Any]:
    """A handle without its execution id (which differs between runs)."""
    assert isinstance(handle, OutputHandle), type(handle)
    return handle.model_dump(exclude={"execution_id"})


async def test_a_large_output_comes_as_a_handle_whose_pages_are_the_value(
    any_conductor: Conductor,
) -> None:
    assert json_size(ITEMS) > 4_000_000 > inline_limit()
    result = await any_conductor.execute(blueprint=big_blueprint(), inputs={"items": ITEMS})
    assert result.success, result.error
    handle = result.nodes["make"].output
    assert shape(handle) == {
        "kind": "handle",
        "node_id": "make",
        "size_bytes": json_size(ITEMS),
        "value_type": "list",
        "count": len(ITEMS),
        "preview": ITEMS[:5],
        "record": None,
        "complete": True,
    }
    assert handle.execution_id == result.execution_id
    assert result.nodes["count"].output == len(ITEMS)  # small: inline as before
    outputs = result.outputs
    assert isinstance(outputs, OutputHandle) and outputs.is_outputs
    assert (outputs.node_id, outputs.value_type, outputs.count) == (EXECUTION_OUTPUTS, "object", 2)
    assert outputs.preview["n"] == len(ITEMS)
    assert outputs.preview["items"] == ITEMS[:5]

    # The pages, fetched one by one, reassemble the exact value.
    assert await any_conductor.fetch_output(handle) == ITEMS
    assert await any_conductor.fetch_output(outputs) == {"items": ITEMS, "n": len(ITEMS)}
    pages = [page async for page in any_conductor.output_pages(handle, page=7_000)]
    assert [len(p.items) for p in pages] == [7_000] * 7 + [1_000]
    assert all(p.total == len(ITEMS) for p in pages)

    # get_execution and wait say the same; include_node_outputs carries it inline.
    again = await any_conductor.get_execution(result.execution_id)
    assert again.nodes["make"].output == handle and again.outputs == outputs
    waited = await any_conductor.wait(result.execution_id)
    assert waited.nodes["make"].output == handle
    whole = await any_conductor.get_execution(result.execution_id, include_node_outputs=True)
    assert whole.nodes["make"].output == ITEMS


async def test_include_node_outputs_carries_everything_inline(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(
        blueprint=big_blueprint(), inputs={"items": ITEMS}, include_node_outputs=True
    )
    assert result.success, result.error
    assert result.nodes["make"].output == ITEMS
    assert result.outputs == {"items": ITEMS, "n": len(ITEMS)}


async def test_small_outputs_stay_inline_and_events_carry_no_items(
    any_conductor: Conductor,
) -> None:
    small = ITEMS[:100]
    result = await any_conductor.execute(blueprint=big_blueprint(), inputs={"items": small})
    assert result.nodes["make"].output == small
    assert result.outputs == {"items": small, "n": 100}
    eid = await any_conductor.start(blueprint=big_blueprint(), inputs={"items": ITEMS})
    events = [event async for event in any_conductor.events(eid)]
    assert sum(len(event.model_dump_json()) for event in events) < 20_000
    made = [e for e in events if e.node_id == "make" and e.status == "completed"]
    assert made and made[0].data is not None and "output" not in made[0].data
    result = await any_conductor.wait(eid)
    assert isinstance(result.nodes["make"].output, OutputHandle)


async def test_a_streamed_output_is_a_handle_however_small(any_conductor: Conductor) -> None:
    blueprint = {
        "id": "small-stream",
        "nodes": [
            {"id": "gen", "type": "generate", "params": {"count": 3, "field": "n"}},
            {
                "id": "twice",
                "type": "json.transform",
                "params": {"expression": "n", "per_item": True},
            },
            {"id": "n", "type": "count"},
        ],
    }
    result = await any_conductor.execute(blueprint=blueprint)
    assert result.success, result.error
    assert shape(result.nodes["gen"].output) == {
        "kind": "handle",
        "node_id": "gen",
        "size_bytes": len('[{"n":0},{"n":1},{"n":2}]'),
        "value_type": "list",
        "count": 3,
        "preview": [{"n": 0}, {"n": 1}, {"n": 2}],
        "record": "summary",
        "complete": True,  # the preview holds every item of so short a stream
    }
    assert result.nodes["n"].output == 3 and result.outputs == 3
    assert await any_conductor.fetch_output(result.nodes["twice"].output) == [0, 1, 2]
    inline = await any_conductor.execute(blueprint=blueprint, include_node_outputs=True)
    assert inline.nodes["gen"].output["stream"]["items"] == 3


def test_a_handle_survives_the_wire_and_a_look_alike_value_does_not_become_one() -> None:
    handle = OutputHandle(
        execution_id="e", node_id="n", size_bytes=5, value_type="list", count=2, preview=[1]
    )
    result = ExecutionResult(
        execution_id="e",
        blueprint_id="b",
        status="completed",  # type: ignore[arg-type]
        success=True,
        outputs=handle,
        nodes={"n": NodeResult(node_id="n", output=handle)},
    )
    back = ExecutionResult.model_validate_json(result.model_dump_json())
    assert back.outputs == handle and back.nodes["n"].output == handle
    look_alike = {"kind": "handle", "execution_id": "e", "note": "mine"}
    assert NodeResult(node_id="n", output=look_alike).output == look_alike


@pytest.mark.parametrize("value", [None, 3, "short", [1, 2], {"a": 1}])
def test_small_values_are_never_handles(value: Any) -> None:
    from app.output_handles import make_handle

    assert make_handle("e", "n", value, 1024) == value


@pytest.mark.parametrize("count", [0, 1, 4096, 4097, 20_000])
def test_json_size_is_the_size_of_the_compact_json(count: int) -> None:
    import orjson

    items = [{"id": i, "name": f"é-{i}"} for i in range(count)]
    assert json_size(items) == len(orjson.dumps(items))
