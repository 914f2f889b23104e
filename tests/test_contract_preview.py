"""The node editor's live preview: a template rendered in the engine against a
recorded run, the same on every transport, bounded like any template."""

from __future__ import annotations

import json

import pytest

from app import Conductor
from app.errors import ConfigError, ExecutionNotFoundError


async def test_renders_against_the_recorded_run(any_conductor: Conductor) -> None:
    run = await any_conductor.execute(blueprint_id="branch", inputs={"amount": 40})
    assert run.success, run.error
    eid = run.execution_id
    amount = await any_conductor.preview_template("{{ inputs.amount * 2 }}", execution_id=eid)
    assert (amount.ok, amount.kind, json.loads(amount.text)) == (True, "number", 80)
    # ``input`` as the receipt node sees it: its upstream (approve) output.
    receipt = await any_conductor.preview_template(
        "approved: {{ input.amount }} ({{ nodes.classify.port }})",
        execution_id=eid,
        node_id="receipt",
        upstream=["approve"],
    )
    assert receipt.ok and json.loads(receipt.text) == "approved: 40 (false)"
    assert {"inputs.amount", "nodes.approve.output", "input.decision"} <= set(receipt.scope)
    whole = await any_conductor.preview_template("{{ nodes.approve.output }}", execution_id=eid)
    assert whole.kind == "object" and json.loads(whole.text)["decision"] == "approved"
    plain = await any_conductor.preview_template("no template here")
    assert (plain.ok, json.loads(plain.text)) == (True, "no template here")


async def test_errors_name_what_and_where(any_conductor: Conductor) -> None:
    run = await any_conductor.execute(blueprint_id="branch")
    eid = run.execution_id
    missing = await any_conductor.preview_template(
        "{{ nodes.nope.output }}", execution_id=eid, node_id="receipt"
    )
    assert not missing.ok and missing.error and "nope" in missing.error
    assert missing.where is not None and "receipt" in missing.where
    broken = await any_conductor.preview_template("{{ inputs.amount +  }}", execution_id=eid)
    assert not broken.ok and broken.error and "syntax" in broken.error
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.preview_template("{{ 1 }}", execution_id="no-such-execution")
    with pytest.raises(ConfigError) as too_long:
        await any_conductor.preview_template("x" * 100_001)
    assert too_long.value.where == "template"


async def test_a_hostile_template_is_bounded(any_conductor: Conductor) -> None:
    """The preview runs the sandbox's bounds: a huge value is refused, not built."""
    shown = await any_conductor.preview_template(
        "{% set s = 'x' * 1000 %}{% for i in range(10**9) %}{{ s }}{% endfor %}"
    )
    assert not shown.ok and shown.error
    long = await any_conductor.preview_template("{{ 'ab' * 10000 }}")
    assert long.ok and long.truncated and len(long.text) == 4000
