"""Pinned outputs, partial runs and disabled nodes, the same over every transport.

``use_pins`` runs use ``ui.pins`` instead of running those nodes (recorded in the
execution's config); ``only`` runs one node fed by recorded outputs, pins or
``node_input``; ``stop_after`` runs a node and its upstream; a disabled node
passes its input through. Each test runs once per transport (direct, pipe, HTTP).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import Conductor, create_conductor
from app.errors import ConfigError, NodeInputError
from app.events import NodeEvent
from app.states import NodeReason, NodeStatus

C, S = NodeStatus.COMPLETED, NodeStatus.SKIPPED


def chain(**extra: Any) -> dict[str, Any]:
    """a → b → c, each adding to ``n``; ``extra`` goes into the blueprint."""
    return {
        "id": "pinnable",
        "inputs": {"n": {"type": "integer", "default": 1}},
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": {"n": "{{ inputs.n + 1 }}"}}},
            {"id": "b", "type": "set", "params": {"value": {"n": "{{ input.n * 10 }}"}}},
            {"id": "c", "type": "set", "params": {"value": {"n": "{{ input.n + 3 }}"}}},
        ],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
        **extra,
    }


async def reasons(conductor: Conductor, eid: str) -> dict[str, str]:
    """``{node_id: reason}`` from the nodes' terminal events."""
    found: dict[str, str] = {}
    async for event in conductor.events(eid):
        if isinstance(event, NodeEvent) and event.data and "reason" in event.data:
            found[event.node_id] = event.data["reason"]
    return found


async def test_pins_replace_a_nodes_run_only_with_use_pins(any_conductor: Conductor) -> None:
    bp = chain(ui={"pins": {"b": {"n": 100}}})
    plain = await any_conductor.execute(blueprint=bp)
    assert plain.success, plain.error
    assert plain.outputs == {"c": {"n": 23}}  # pins are ignored without use_pins

    pinned = await any_conductor.execute(blueprint=bp, config={"use_pins": True})
    assert pinned.success, pinned.error
    assert pinned.nodes["b"].status is C and pinned.nodes["b"].output == {"n": 100}
    assert pinned.outputs == {"c": {"n": 103}}
    assert pinned.config["pins"] == {"b": {"n": 100}}  # recorded with the execution
    assert pinned.blueprint_hash == plain.blueprint_hash  # pins are outside the hash
    assert await reasons(any_conductor, pinned.execution_id) == {"b": NodeReason.PINNED}


async def test_stop_after_runs_a_node_and_its_upstream_only(any_conductor: Conductor) -> None:
    result = await any_conductor.execute(blueprint=chain(), config={"stop_after": "b"})
    assert result.success, result.error
    assert [result.nodes[n].status for n in "abc"] == [C, C, S]
    assert result.outputs == {"b": {"n": 20}}
    assert await reasons(any_conductor, result.execution_id) == {"c": NodeReason.NOT_IN_RUN}


async def test_only_runs_one_node_on_the_last_runs_outputs_or_pins_or_given_input(
    any_conductor: Conductor,
) -> None:
    bp = chain(ui={"pins": {"a": {"n": 7}}})
    with pytest.raises(NodeInputError, match="'b'") as refused:
        await any_conductor.execute(blueprint=bp, config={"only": "b"})
    assert refused.value.node_id == "b"

    pinned = await any_conductor.execute(blueprint=bp, config={"only": "b", "use_pins": True})
    assert pinned.success, pinned.error
    assert pinned.outputs == {"b": {"n": 70}}
    assert [pinned.nodes[n].status for n in "abc"] == [C, C, S]

    given = await any_conductor.execute(blueprint=bp, config={"only": "c", "node_input": {"n": 5}})
    assert given.outputs == {"c": {"n": 8}}
    assert given.nodes["b"].output == {"n": 5}  # the given input, recorded as b's output
    assert given.nodes["a"].output == {"n": 7}  # lent by the latest run (pinned there)

    whole = await any_conductor.execute(blueprint=bp, inputs={"n": 2})
    alone = await any_conductor.execute(blueprint=bp, config={"only": "c"})
    assert alone.success, alone.error
    assert alone.outputs == {"c": {"n": 33}}  # b's output recorded by the whole run
    assert alone.nodes["b"].output == whole.nodes["b"].output


async def test_a_disabled_node_passes_its_input_through(any_conductor: Conductor) -> None:
    enabled = chain()
    disabled = chain()
    disabled["nodes"][1]["disabled"] = True
    result = await any_conductor.execute(blueprint=disabled)
    assert result.success, result.error
    assert result.nodes["b"].status is S
    assert result.nodes["b"].output == {"n": 2}  # its input
    assert result.outputs == {"c": {"n": 5}}
    assert await reasons(any_conductor, result.execution_id) == {"b": NodeReason.DISABLED}
    other = await any_conductor.execute(blueprint=enabled)
    assert other.blueprint_hash != result.blueprint_hash  # disabled is in the hash


async def test_bad_partial_configs_are_typed_errors(any_conductor: Conductor) -> None:
    with pytest.raises(ConfigError, match="only names no node"):
        await any_conductor.execute(blueprint=chain(), config={"only": "zzz"})
    with pytest.raises(ConfigError, match="does not combine"):
        await any_conductor.execute(blueprint=chain(), config={"only": "b", "stop_after": "c"})


async def test_reuse_from_another_blueprints_execution_is_a_clear_config_error(
    any_conductor: Conductor,
) -> None:
    """Issue 12 leftover: this was ``ConfigError: 'x'`` (a node id missing from the
    other blueprint), for start_at as for only."""
    other = await any_conductor.execute(
        blueprint={"id": "elsewhere", "nodes": [{"id": "x", "type": "set", "params": {}}]}
    )
    assert other.success, other.error
    for key in ("start_at", "only"):
        with pytest.raises(ConfigError) as refused:
            await any_conductor.execute(
                blueprint=chain(), config={key: "b", "reuse_from": other.execution_id}
            )
        message = str(refused.value)
        assert "reuse_from" in message and other.execution_id in message, message
        assert "'elsewhere'" in message and "'pinnable'" in message, message


async def test_resume_uses_the_pins_the_original_run_used(
    any_conductor: Conductor, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hold"
    marker.touch()
    monkeypatch.setenv("CONDUCTOR_TEST_BLOCK", str(marker))
    fn = "tests.node_functions:block_while_file"
    bp: dict[str, Any] = {
        "id": "pinned-resume",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": {"step": 0}}},
            {"id": "held", "type": "python.function", "params": {"function": fn}},
            {"id": "last", "type": "set", "params": {"value": "{{ input.step + 10 }}"}},
            {"id": "tail", "type": "set", "params": {"value": "{{ input + 1 }}"}},
        ],
        "ui": {"pins": {"first": {"step": 5}, "tail": 1000}},
    }
    other = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    try:
        eid = await other.start(blueprint=bp, config={"use_pins": True, "stop_after": "last"})
        async for event in other.events(eid):
            if event.node_id == "held" and event.status == "running":
                break
    finally:
        await other.close()
    marker.unlink()

    result = await any_conductor.resume(eid)
    assert result.success, result.error
    assert result.outputs == {"last": 16}  # held adds 1 to the pinned first; stop_after holds
    assert result.config == {
        "use_pins": True,
        "stop_after": "last",
        "pins": {"first": {"step": 5}, "tail": 1000},
    }
    assert result.nodes["tail"].status is S
