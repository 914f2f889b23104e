"""The trigger operations give the same answers on every transport (direct, the
app's pipe worker, HTTP), errors included."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import Conductor
from app.errors import TriggerNotFoundError
from app.triggers import FireOutcome, TriggerState
from tests.main_process.triggers.helpers import write_blueprint

TID = "daily:three"


async def test_trigger_operations_on_every_transport(any_conductor: Conductor, home: Path) -> None:
    write_blueprint(home, "daily", [{"kind": "schedule", "name": "three", "cron": "0 3 * * *"}])
    [listed] = await any_conductor.triggers.list()
    assert listed.id == TID and listed.kind == "schedule"
    assert listed.describe == "cron 0 3 * * * (UTC)"
    assert (await any_conductor.triggers.suspend(TID)).state is TriggerState.SUSPENDED
    assert (await any_conductor.triggers.disable(TID)).state is TriggerState.DISABLED
    fired = await any_conductor.triggers.fire(TID)
    assert fired.outcome is FireOutcome.STARTED and fired.execution_id
    result = await any_conductor.wait(fired.execution_id)
    assert result.success
    assert result.config["triggered_by"] == TID
    assert result.outputs["name"] == "three"
    [after] = await any_conductor.triggers.list()
    assert after.last_execution_id == fired.execution_id
    assert after.last_outcome is FireOutcome.STARTED
    assert await any_conductor.triggers.held() == []
    with pytest.raises(TriggerNotFoundError) as caught:
        await any_conductor.triggers.enable("daily:nope")
    assert caught.value.where == "trigger_id"
    with pytest.raises(TriggerNotFoundError):
        await any_conductor.triggers.release(12345)
