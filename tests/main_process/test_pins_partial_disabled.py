"""Edge cases of pinned outputs, partial runs and disabled nodes on a real engine:
branch nodes bypassed, sequences, pins beside run-from-here, the content hash, and
a failed lone-node run resumed with its original config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import Conductor
from app.blueprint import Blueprint
from app.errors import ConfigError
from app.states import NodeStatus

C, S = NodeStatus.COMPLETED, NodeStatus.SKIPPED


def branchy(disabled: bool = False) -> dict[str, Any]:
    """start → check (if) → yes (true) / no (false), and check → after (no port)."""
    return {
        "id": "branchy",
        "nodes": [
            {"id": "start", "type": "set", "params": {"value": {"n": 3}}},
            {
                "id": "check",
                "type": "if",
                "params": {"condition": "{{ input.n > 5 }}"},
                **({"disabled": True} if disabled else {}),
            },
            {"id": "yes", "type": "set", "params": {"value": "big"}},
            {"id": "no", "type": "set", "params": {"value": "small"}},
            {"id": "after", "type": "set", "params": {"value": "{{ input.n }}"}},
        ],
        "edges": [
            {"source": "start", "target": "check"},
            {"source": "check", "target": "yes", "source_port": "true"},
            {"source": "check", "target": "no", "source_port": "false"},
            {"source": "check", "target": "after"},
        ],
    }


async def test_a_disabled_branch_node_takes_no_branch_but_feeds_plain_edges(
    conductor: Conductor,
) -> None:
    enabled = await conductor.execute(blueprint=branchy())
    assert [enabled.nodes[n].status for n in ("yes", "no", "after")] == [S, C, C]
    bypassed = await conductor.execute(blueprint=branchy(disabled=True))
    assert bypassed.success, bypassed.error
    assert bypassed.nodes["check"].status is S
    assert bypassed.nodes["check"].output == {"n": 3}
    assert [bypassed.nodes[n].status for n in ("yes", "no", "after")] == [S, S, C]
    assert bypassed.nodes["after"].output == 3


async def test_a_disabled_node_in_a_sequence_passes_the_value_on(conductor: Conductor) -> None:
    bp = {
        "id": "seq",
        "nodes": [
            {"id": "one", "type": "set", "params": {"value": 1}},
            {"id": "two", "type": "set", "params": {"value": "{{ input + 1 }}"}, "disabled": True},
            {"id": "three", "type": "set", "params": {"value": "{{ input * 5 }}"}},
        ],
    }
    result = await conductor.execute(blueprint=bp)
    assert result.outputs == 5
    bp["nodes"][2]["disabled"] = True  # the last node disabled: its input is the output
    assert (await conductor.execute(blueprint=bp)).outputs == 1


def test_pins_stay_outside_the_hash_and_enabling_restores_it() -> None:
    plain = Blueprint.model_validate(branchy())
    pinned = Blueprint.model_validate({**branchy(), "ui": {"pins": {"start": {"n": 9}}}})
    disabled = Blueprint.model_validate(branchy(disabled=True))
    enabled_again = Blueprint.model_validate(
        {**branchy(), "nodes": [{**n, "disabled": False} for n in branchy()["nodes"]]}
    )
    assert pinned.content_hash() == plain.content_hash()
    assert disabled.content_hash() != plain.content_hash()
    assert enabled_again.content_hash() == plain.content_hash()


async def test_pins_beside_run_from_here_and_pins_of_disabled_nodes(conductor: Conductor) -> None:
    bp = {**branchy(), "ui": {"pins": {"after": "pinned!", "check": {"n": 100}}}}
    first = await conductor.execute(blueprint=bp)
    again = await conductor.execute(
        blueprint=bp,
        config={"start_at": "check", "use_pins": True, "reuse_from": first.execution_id},
    )
    assert again.nodes["after"].output == "pinned!"  # downstream of start_at, yet pinned
    assert again.nodes["check"].output == {"n": 100}
    # A pin is a value, not a branch: a pinned if feeds its plain edges only.
    assert again.nodes["yes"].status is S and again.nodes["no"].status is S
    bp["nodes"][1]["disabled"] = True
    bypassed = await conductor.execute(blueprint=bp, config={"use_pins": True})
    assert bypassed.config["pins"] == {"after": "pinned!"}  # a disabled node's pin is not used
    assert bypassed.nodes["check"].status is S


async def test_only_runs_its_node_whatever_port_the_upstream_took(conductor: Conductor) -> None:
    first = await conductor.execute(blueprint=branchy())
    assert first.nodes["check"].port == "false"
    alone = await conductor.execute(blueprint=branchy(), config={"only": "yes"})
    assert alone.success, alone.error
    assert alone.outputs == {"yes": "big"}
    assert alone.nodes["no"].status is S and alone.nodes["after"].status is S


async def test_a_failed_lone_node_run_resumes_as_a_lone_node_run(
    conductor: Conductor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "fail"
    marker.touch()
    monkeypatch.setenv("CONDUCTOR_TEST_FAIL", str(marker))
    bp = {
        "id": "lone-resume",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": {"step": 1}}},
            {
                "id": "b",
                "type": "python.function",
                "params": {"function": "tests.node_functions:fail_while_file"},
            },
            {"id": "c", "type": "set", "params": {"value": "{{ input.step }}"}},
        ],
    }
    failed = await conductor.execute(blueprint=bp, config={"only": "b", "node_input": {"step": 40}})
    assert not failed.success
    assert failed.nodes["a"].output == {"step": 40}  # the given input stands for a's output
    marker.unlink()
    resumed = await conductor.resume(failed.execution_id)
    assert resumed.success, resumed.error
    assert resumed.outputs == {"b": {"step": 41}}
    assert resumed.nodes["c"].status is S  # still outside the run


async def test_pins_given_in_the_config_replace_the_blueprints(conductor: Conductor) -> None:
    bp = {**branchy(), "ui": {"pins": {"start": {"n": 1}, "ghost": 5}}}  # a stale pin
    result = await conductor.execute(blueprint=bp, config={"use_pins": True})
    assert result.config["pins"] == {"start": {"n": 1}}
    given = await conductor.execute(blueprint=bp, config={"use_pins": True, "pins": {"start": 8}})
    assert given.nodes["start"].output == 8 and given.config["pins"] == {"start": 8}
    with pytest.raises(ConfigError, match="pins name no node"):
        await conductor.execute(blueprint=bp, config={"use_pins": True, "pins": {"zzz": 1}})
