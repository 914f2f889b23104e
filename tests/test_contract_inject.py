"""Fault injection (``config.inject``) on every transport: ``error`` fails a node at
once with a typed error, ``timeout`` runs the node's real timeout path, ``slow``
delays and then runs; the faults are recorded in the execution's config and listed
in its history; bad requests are typed errors naming what is wrong."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app import Conductor
from app.errors import ConfigError


def pipeline(**fetch: Any) -> dict[str, Any]:
    """fetch → save, with a cleanup that runs whatever happens (``all_done``)."""
    return {
        "id": "inject-me",
        "nodes": [
            {"id": "fetch", "type": "set", "params": {"value": {"n": 1}}, **fetch},
            {"id": "save", "type": "set", "params": {"value": "{{ input }}"}},
            {"id": "cleanup", "type": "set", "params": {"value": "done"}, "when": "all_done"},
        ],
        "edges": [
            {"source": "fetch", "target": "save"},
            {"source": "save", "target": "cleanup"},
        ],
    }


async def test_error_fails_the_node_at_once_and_is_recorded(any_conductor: Conductor) -> None:
    run = await any_conductor.execute(
        blueprint=pipeline(retry={"max_attempts": 2, "delay": 0}),
        config={"inject": {"fetch": "error"}},
    )
    assert not run.success
    fetch = run.nodes["fetch"]
    assert fetch.status.value == "failed" and fetch.attempts == 2  # retries are used up
    assert fetch.error is not None and fetch.error.type == "InjectedFaultError"
    assert fetch.error.node_id == "fetch" and "inject fetch=error" in fetch.error.message
    assert run.config["inject"] == {"fetch": "error"}
    listed = await any_conductor.list_executions(blueprint_id="inject-me")
    assert listed[0].inject == {"fetch": "error"}
    again = await any_conductor.get_execution(run.execution_id)
    assert again.config["inject"] == {"fetch": "error"}
    plain = await any_conductor.execute(blueprint=pipeline())
    assert plain.success and "inject" not in plain.config
    assert (await any_conductor.list_executions(limit=1))[0].inject is None


async def test_on_error_continue_takes_the_downstream_path(any_conductor: Conductor) -> None:
    run = await any_conductor.execute(
        blueprint=pipeline(on_error="continue"), config={"inject": {"fetch": "error"}}
    )
    assert run.nodes["fetch"].status.value == "failed"
    assert run.nodes["save"].output["error"]["type"] == "InjectedFaultError"
    assert run.nodes["cleanup"].status.value == "completed"


async def test_timeout_runs_the_nodes_real_timeout(any_conductor: Conductor) -> None:
    started = time.monotonic()
    run = await any_conductor.execute(
        blueprint=pipeline(timeout=0.3), config={"inject": {"fetch": "timeout"}}
    )
    elapsed = time.monotonic() - started
    fetch = run.nodes["fetch"]
    assert fetch.error is not None and fetch.error.type == "NodeTimeoutError"
    assert "timed out after 0.3 s" in fetch.error.message
    assert fetch.duration_ms is not None and fetch.duration_ms >= 290
    assert elapsed < 30  # ended by the node's timer, not by the injected sleep


async def test_slow_delays_then_runs(any_conductor: Conductor) -> None:
    run = await any_conductor.execute(
        blueprint=pipeline(), config={"inject": {"save": "SLOW:0.40"}}
    )
    assert run.success, run.error
    save = run.nodes["save"]
    assert save.output == {"n": 1} and save.duration_ms is not None and save.duration_ms >= 390
    assert run.config["inject"] == {"save": "slow:0.4"}
    late = await any_conductor.execute(
        blueprint=pipeline(timeout=0.2), config={"inject": {"fetch": "slow:5"}}
    )
    error = late.nodes["fetch"].error
    assert error is not None and error.type == "NodeTimeoutError"


async def test_bad_injections_are_typed_errors(any_conductor: Conductor) -> None:
    with pytest.raises(ConfigError) as unknown:
        await any_conductor.execute(
            blueprint=pipeline(), config={"inject": {"ghost": "error", "spook": "error"}}
        )
    assert "'ghost', 'spook'" in unknown.value.message
    assert unknown.value.where == "config.inject"
    with pytest.raises(ConfigError) as no_timeout:
        await any_conductor.execute(blueprint=pipeline(), config={"inject": {"save": "timeout"}})
    assert no_timeout.value.where == "config.inject.save"
    assert "has no timeout" in no_timeout.value.message
    for bad in ("explode", "slow:", "slow:-1", "error:2"):
        with pytest.raises(ConfigError) as spec:
            await any_conductor.execute(blueprint=pipeline(), config={"inject": {"save": bad}})
        assert spec.value.where is not None and spec.value.where.startswith("config.inject")
    assert await any_conductor.list_executions(blueprint_id="inject-me") == []


async def test_a_resume_applies_the_recorded_faults_again(any_conductor: Conductor) -> None:
    """The faults are part of the run's config: resuming re-runs the failed node with
    them (a simulated failure is not healed by resuming)."""
    run = await any_conductor.execute(blueprint=pipeline(), config={"inject": {"save": "error"}})
    assert run.nodes["fetch"].status.value == "completed"
    resumed = await any_conductor.resume(run.execution_id)
    assert resumed.execution_id == run.execution_id and not resumed.success
    save = resumed.nodes["save"]
    assert save.error is not None and save.error.type == "InjectedFaultError"
    assert resumed.nodes["fetch"].attempts == 1  # not re-run
    assert resumed.config["inject"] == {"save": "error"}
