"""A monitor that falls behind a run skips to the present: node states come from
the record, the log tail notes the gap, and the final state is right."""

from __future__ import annotations

import time

from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until


async def test_a_monitor_far_behind_skips_to_the_recorded_state(window: MainWindow) -> None:
    conductor = window.bridge.conductor
    blueprint = {
        "id": "chatty",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": {"count": 20000}}},
            {
                "id": "talk",
                "type": "python.function",
                "params": {"function": "main_process.nodes.example_functions:emit_logs"},
            },
        ],
    }
    result = await conductor.execute(blueprint=blueprint)
    assert result.success and result.finished_at is not None
    # Its events are now older than the monitor's catch-up horizon.
    await until(lambda: time.time() - (result.finished_at or 0) > 0.3, what="events aged")
    finished: list[str] = []
    window.bridge.execution_finished.connect(lambda eid, _result: finished.append(eid))
    window.bridge.follow(result.execution_id)
    await until(lambda: result.execution_id in finished, what="monitor finished")
    view = window.bridge.model.execution(result.execution_id)
    assert view is not None
    assert view.status == "completed"
    assert view.skipped > 0  # it did not replay 20,000 log lines one by one
    assert view.last_seq == result.last_seq
    assert {n.node_id: n.status for n in view.nodes.values()} == {
        "first": "completed",
        "talk": "completed",
    }
