"""The monitor's plain-Python state: latest state per node, coalesced repaints."""

from __future__ import annotations

import time

from app.events import EVENT_ADAPTER, Event
from app.results import ExecutionResult, NodeResult
from app.states import ExecutionStatus, NodeStatus
from renderer.monitor.monitor_model import LOG_LIMIT, MonitorModel


def _event(seq: int, kind: str = "node", **fields: object) -> Event:
    return EVENT_ADAPTER.validate_python(
        {"execution_id": "e1", "seq": seq, "ts": 1000.0 + seq / 1000, "kind": kind, **fields}
    )


def test_latest_state_per_node_wins() -> None:
    model = MonitorModel()
    model.apply(_event(1, "execution", status="running"))
    model.apply(_event(2, node_id="a", status="running", attempt=1))
    model.apply(_event(3, node_id="a", status="retrying", attempt=1))
    model.apply(_event(4, node_id="a", status="running", attempt=2))
    model.apply(_event(5, node_id="a", status="completed", attempt=2, data={"output_size": 42}))
    model.apply(
        _event(6, node_id="b", status="failed", data={"error": {"type": "E", "message": "boom"}})
    )
    model.apply(_event(7, "execution", status="failed"))
    view = model.execution("e1")
    assert view is not None
    a, b = view.nodes["a"], view.nodes["b"]
    assert (a.status, a.attempts, a.output_size) == ("completed", 2, 42)
    assert a.duration is not None and a.duration > 0
    assert (b.status, b.error) == ("failed", "E: boom")
    assert view.status == "failed"
    assert view.elapsed() == view.finished_at - view.started_at  # type: ignore[operator]


def test_replayed_events_are_ignored() -> None:
    model = MonitorModel()
    model.apply(_event(1, node_id="a", status="completed"))
    model.apply(_event(1, node_id="a", status="running"))
    view = model.execution("e1")
    assert view is not None and view.nodes["a"].status == "completed"
    assert view.events_seen == 1


def test_100k_events_coalesce_into_one_repaint_per_flush() -> None:
    model = MonitorModel()
    began = time.perf_counter()
    for seq in range(1, 100_001):
        model.apply(_event(seq, node_id=f"n{seq % 500}", status="running", attempt=1))
    elapsed = time.perf_counter() - began
    assert model.take_dirty() == {"e1"}  # one execution to repaint, however many events
    assert model.take_dirty() == set()
    view = model.execution("e1")
    assert view is not None
    assert len(view.nodes) == 500
    assert len(view.log) == LOG_LIMIT  # the log is bounded
    assert elapsed < 10


def test_load_result_replaces_state() -> None:
    model = MonitorModel()
    model.apply(_event(1, node_id="a", status="running"))
    result = ExecutionResult(
        execution_id="e1",
        blueprint_id="bp",
        status=ExecutionStatus.INTERRUPTED,
        success=False,
        nodes={"a": NodeResult(node_id="a", status=NodeStatus.RUNNING, attempts=1)},
        started_at=1.0,
        finished_at=2.0,
    )
    view = model.load_result(result)
    assert (view.status, view.blueprint_id, view.elapsed()) == ("interrupted", "bp", 1.0)
    assert view.nodes["a"].attempts == 1


def test_a_recorded_failure_reaches_the_data_view_after_a_catch_up() -> None:
    """Falling behind a live run loads the recorded state instead of the node's event:
    the failure's details (for the Data tab) once went missing that way."""
    from app.errors import ErrorInfo

    model = MonitorModel()
    error = ErrorInfo(type="NodeFailedError", message="disk on fire", node_id="b")
    result = ExecutionResult(
        execution_id="e1",
        blueprint_id="bp",
        status=ExecutionStatus.FAILED,
        success=False,
        nodes={"b": NodeResult(node_id="b", status=NodeStatus.FAILED, error=error)},
    )
    view = model.load_result(result)
    row = view.nodes["b"]
    assert row.error == "NodeFailedError: disk on fire"
    assert row.error_info is not None and ErrorInfo(**row.error_info) == error


def test_a_streaming_nodes_progress_notes_count_its_items_so_far() -> None:
    model = MonitorModel()
    model.apply(_event(1, node_id="gen", status="running", attempt=1))
    model.apply(_event(2, "log", node_id="gen", data={"level": "info", "message": "hello"}))
    view = model.execution("e1")
    assert view is not None and view.nodes["gen"].items_so_far is None  # not a progress note
    note = {"level": "debug", "message": "40,000 items so far", "items": 40_000}
    model.apply(_event(3, "log", node_id="gen", data=note))
    assert view.nodes["gen"].items_so_far == 40_000
