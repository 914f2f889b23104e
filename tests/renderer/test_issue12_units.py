"""The rules behind issue 12's window fixes, without a window: "not run", the Log's
gap filling, errors in the Log, and a branch wire beside a port-less edge."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.events import EVENT_ADAPTER, Event
from app.results import NodeTypeInfo
from app.states import NodeStatus
from renderer.canvas.state_badge import BadgeState, shown_state
from renderer.editor.document import EditorDocument
from renderer.monitor.log_view import format_event
from renderer.monitor.monitor_model import MonitorModel


def _event(seq: int, kind: str = "node", **fields: object) -> Event:
    return EVENT_ADAPTER.validate_python(
        {"execution_id": "e1", "seq": seq, "ts": 1000.0 + seq, "kind": kind, **fields}
    )


def test_never_started_nodes_of_an_ended_execution_are_not_run() -> None:
    ended = {"interrupted": False, "ended": True}
    assert shown_state(NodeStatus.PENDING, **ended) is BadgeState.NOT_RUN
    assert shown_state(NodeStatus.CANCELLED, started=False, **ended) is BadgeState.NOT_RUN
    assert shown_state(NodeStatus.CANCELLED, started=True, **ended) is BadgeState.CANCELLED
    assert shown_state(NodeStatus.PENDING, interrupted=False) is BadgeState.PENDING  # still on


def test_a_node_cancelled_before_it_started_has_no_duration() -> None:
    model = MonitorModel()
    model.apply(_event(1, node_id="a", status="cancelled"))
    model.apply(_event(2, node_id="b", status="running"))
    model.apply(_event(3, node_id="b", status="cancelled"))
    view = model.execution("e1")
    assert view is not None
    assert not view.nodes["a"].started and view.nodes["a"].duration is None
    assert view.nodes["b"].started and view.nodes["b"].duration == 1.0


def test_a_filled_gap_rewrites_the_log_in_order() -> None:
    model = MonitorModel()
    for seq in (1, 2, 6):
        model.apply(_event(seq, "execution", status="running"))
    model.skip_to("e1", 6, 3)
    model.fill_log("e1", [_event(seq, "execution", status="running") for seq in (3, 4, 5, 6)])
    view = model.execution("e1")
    assert view is not None
    assert [e.seq for e in view.log] == [1, 2, 3, 4, 5, 6]
    assert view.log_version == 1 and view.skipped == 0


def test_an_error_in_the_log_reads_as_a_message() -> None:
    error = {"type": "ValueError", "message": "bad input", "where": "params.x", "traceback": "…"}
    line = format_event(
        _event(4, node_id="parse", status="failed", data={"error": error, "output_size": 9})
    )
    assert "— ValueError: bad input (node parse, at params.x)" in line
    assert "traceback" not in line and "{" not in line
    assert "output_size=9" in line


def test_a_branch_wire_replaces_a_portless_edge(
    qtbot: QtBot, node_types: list[NodeTypeInfo]
) -> None:
    document = EditorDocument(node_types)
    document.new("branch")
    for type_name, node_id in (("set", "make"), ("if", "check"), ("log", "yes")):
        document.add_node(type_name, node_id=node_id)
    document.connect_nodes("make", "check")  # the chain becomes edges: check → yes too
    assert [(e.source, e.target, e.source_port) for e in document.model.edges] == [
        ("make", "check", None),
        ("check", "yes", None),
    ]
    document.connect_nodes("check", "yes", "true")
    assert [(e.source, e.target, e.source_port) for e in document.model.edges] == [
        ("make", "check", None),
        ("check", "yes", "true"),
    ]
    document.undo_stack.undo()  # one step: the port-less edge is back
    assert ("check", "yes", None) in [
        (e.source, e.target, e.source_port) for e in document.model.edges
    ]


def test_a_recorded_failure_keeps_its_error_for_the_data_tab() -> None:
    """After a catch-up the failure's event was skipped: only the record tells."""
    from app.errors import ErrorInfo
    from app.results import ExecutionResult, NodeResult
    from app.states import ExecutionStatus

    model = MonitorModel()
    error = ErrorInfo(type="NodeFailedError", message="disk on fire", node_id="explode")
    node = NodeResult(node_id="explode", status=NodeStatus.FAILED, error=error)
    model.load_result(
        ExecutionResult(
            execution_id="e1",
            blueprint_id="b",
            status=ExecutionStatus.FAILED,
            success=False,
            nodes={"explode": node},
        )
    )
    view = model.execution("e1")
    assert view is not None
    row = view.nodes["explode"]
    assert row.error_info is not None and ErrorInfo(**row.error_info) == error


def test_duplicate_suggests_a_valid_id_even_for_the_longest_ids() -> None:
    """A 197-character id got '<id>-copy' (202 characters): the dialog opened refusing it."""
    from app.blueprint_ids import MAX_ID_LENGTH, id_problem
    from renderer.library_control import copy_id

    assert copy_id("flow", lambda _id: False) == "flow-copy"
    assert copy_id("flow", lambda i: i == "flow-copy") == "flow-copy-2"
    long_id = "branchy-" + "a" * 189
    for taken in (set[str](), {long_id[:195] + "-copy"}):
        suggested = copy_id(long_id, taken.__contains__)
        assert len(suggested) <= MAX_ID_LENGTH and id_problem(suggested) is None
        assert suggested not in taken


def test_library_and_history_rows_keep_long_names_apart() -> None:
    """Two blueprints with a 200-character name read the same in the Library, and a
    History row's status was cut off the dock (Xvfb trial)."""
    from renderer.side_lists import row_label

    name = "Long name " + "word " * 40 + "end"
    first = row_label(name, "branchy-" + "a" * 189)
    copy = row_label(name, "branchy-copy")
    assert first != copy and len(first) <= 80 and len(copy) <= 80
    assert "branchy-copy" in copy and first.endswith("aaa)")
    assert row_label("Fan out", "fan") == "Fan out (fan)"
    assert row_label(None, "fan") == "fan"


def test_a_banner_with_a_very_long_id_does_not_widen_the_window(qtbot: QtBot) -> None:
    """The recovery offer names the blueprint: a 197-character id widened the window."""
    from renderer.banner import Banner

    banner = Banner("#2563eb")
    qtbot.addWidget(banner)  # closed at teardown: a shown stray window steals shortcuts
    banner.resize(600, 40)
    long_id = "branchy-" + "a" * 189
    text = f"Unsaved work from a session that ended unexpectedly can be recovered: {long_id}"
    banner.show_message(text, {"Recover": lambda: None, "Discard": lambda: None})
    assert banner.minimumSizeHint().width() <= 600
    assert banner.label.toolTip() == text
    banner.close()


def test_a_repeated_run_press_is_the_same_press_only_while_it_matters(
    qapp: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A double-click on Run started the blueprint twice (Xvfb trial)."""
    import asyncio

    from PySide6.QtWidgets import QApplication

    from app.blueprint import Blueprint
    from app.states import ExecutionStatus
    from renderer import run_presses

    model = MonitorModel()
    presses = run_presses.RunPresses(model)
    now = [100.0]
    monkeypatch.setattr(run_presses.time, "monotonic", lambda: now[0])
    blueprint = Blueprint.model_validate({"id": "b", "nodes": [{"id": "n", "type": "set"}]})
    loop = asyncio.new_event_loop()
    try:
        started: asyncio.Future[str | None] = loop.create_future()
        presses.pressed((blueprint, {}), started)
        assert presses.repeat_of((blueprint, {})) is started  # still starting
        assert presses.repeat_of((blueprint, {"only": "n"})) is None  # another press
        started.set_result("e1")
        model.ensure("e1", "b").status = ExecutionStatus.RUNNING
        now[0] += QApplication.doubleClickInterval() / 2000  # half the interval
        assert presses.repeat_of((blueprint, {})) is started  # live, within the interval
        now[0] += 10.0
        assert presses.repeat_of((blueprint, {})) is None  # a deliberate second run
        now[0] -= 10.0
        model.ensure("e1", "b").status = ExecutionStatus.COMPLETED
        assert presses.repeat_of((blueprint, {})) is None  # that run already ended
    finally:
        loop.close()
