"""Typed events: one variant per kind, the wire JSON unchanged, unknown kinds kept.

A newer engine may send kinds this version does not know (loop iterations, trigger
fires, stream chunks): they decode as OtherEvent on the pipe and over SSE, keep
their place in the seq, and the CLI and GUI views skip them.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import orjson

from app.api import Conductor
from app.cli.progress import LineView
from app.errors import ErrorInfo
from app.events import (
    EVENT_ADAPTER,
    CheckpointEvent,
    ExecutionEvent,
    LogEvent,
    NodeEvent,
    OtherEvent,
    VariableEvent,
    make_event,
)
from app.states import ExecutionStatus, NodeStatus
from ipc.http_client import HttpTransport
from ipc.messages import EventBatch, decode, encode

ROWS: list[tuple[Any, ...]] = [
    ("e1", 1, 1.5, "execution", None, "pending", None, {"blueprint_id": "b"}),
    ("e1", 2, 1.6, "node", "a", "running", 1, None),
    ("e1", 3, 1.7, "log", "a", None, None, {"level": "warning", "message": "careful"}),
    ("e1", 4, 1.8, "variable", None, None, None, {"key": "k"}),
    ("e1", 5, 1.9, "checkpoint", None, None, None, {"checkpoint_id": "c", "name": None}),
    (
        "e1",
        6,
        2.0,
        "node",
        "a",
        "failed",
        1,
        {"output_size": 12, "port": "true", "error": {"type": "E", "message": "boom"}},
    ),
    ("e1", 7, 2.1, "loop.iteration", "a", "started", None, {"index": 3}),
    ("e1", 8, 2.2, "execution", None, "failed", None, {"error": {"type": "E", "message": "x"}}),
]
FIELDS = ("execution_id", "seq", "ts", "kind", "node_id", "status", "attempt", "data")


def test_each_kind_has_its_variant_and_typed_fields() -> None:
    events = [make_event(*row) for row in ROWS]
    assert [type(e) for e in events] == [
        ExecutionEvent,
        NodeEvent,
        LogEvent,
        VariableEvent,
        CheckpointEvent,
        NodeEvent,
        OtherEvent,
        ExecutionEvent,
    ]
    first, running, log, _var, _cp, failed, other, last = events
    assert isinstance(first, ExecutionEvent) and first.status is ExecutionStatus.PENDING
    assert isinstance(running, NodeEvent) and running.status is NodeStatus.RUNNING
    assert running.output_size is None and running.error is None
    assert isinstance(log, LogEvent) and (log.level, log.message) == ("warning", "careful")
    assert isinstance(failed, NodeEvent) and failed.status is NodeStatus.FAILED
    assert (failed.output_size, failed.port) == (12, "true")
    assert failed.error == ErrorInfo(type="E", message="boom")
    assert isinstance(other, OtherEvent) and other.kind == "loop.iteration"
    assert not other.is_terminal and other.status == "started"
    assert isinstance(last, ExecutionEvent) and last.is_terminal and last.error is not None
    # Every variant answers the same attribute names.
    for event in events:
        assert {name: getattr(event, name) for name in FIELDS}.keys() == set(FIELDS)


def test_the_wire_json_is_the_flat_record_as_before() -> None:
    for row in ROWS:
        event = make_event(*row)
        expected = orjson.dumps(dict(zip(FIELDS, row, strict=True)))
        assert event.model_dump_json().encode() == expected
        assert EVENT_ADAPTER.validate_json(expected) == event


def test_unknown_kinds_cross_the_pipe() -> None:
    batch = EventBatch(id=1, execution_id="e1", events=[make_event(*row) for row in ROWS])
    back = decode(encode(batch))
    assert back == batch
    assert isinstance(back, EventBatch) and isinstance(back.events[6], OtherEvent)


async def test_sse_clients_keep_following_past_unknown_kinds() -> None:
    """The HTTP client reads a stream holding a kind it does not know to the end."""

    def sse(request: httpx.Request) -> httpx.Response:
        body = b"".join(
            b"id: %d\ndata: %s\n\n" % (row[1], orjson.dumps(dict(zip(FIELDS, row, strict=True))))
            for row in ROWS
        )
        return httpx.Response(
            200,
            content=body + b"event: end\ndata: {}\n\n",
            headers={"content-type": "text/event-stream"},
        )

    conductor = Conductor(
        HttpTransport("http://conductor.test", token="t", transport=httpx.MockTransport(sse))
    )
    try:
        events = [e async for e in conductor.events("e1")]
    finally:
        await conductor.close()
    assert [e.seq for e in events] == list(range(1, 9))
    assert isinstance(events[6], OtherEvent) and events[-1].is_terminal


def test_views_skip_unknown_kinds() -> None:
    from renderer.monitor.monitor_model import MonitorModel

    model = MonitorModel()
    out = io.StringIO()
    lines = LineView(out)
    for row in ROWS:
        event = make_event(*row)
        model.apply(event)
        lines.event(event)
    view = model.execution("e1")
    assert view is not None and view.last_seq == 8
    assert view.status is ExecutionStatus.FAILED
    assert set(view.nodes) == {"a"} and view.nodes["a"].status is NodeStatus.FAILED
    assert view.nodes["a"].error == "E: boom" and view.nodes["a"].port == "true"
    text = out.getvalue()
    assert "loop.iteration" not in text and "started" not in text
    assert [line.split()[1:3] for line in text.splitlines()] == [
        ["execution", "pending"],
        ["a", "running"],
        ["a", "log"],
        ["a", "failed"],
        ["execution", "failed"],
    ]
    assert json.loads(json.dumps(view.nodes["a"].error_info)) == {"type": "E", "message": "boom"}


def test_the_progress_views_show_paused_and_keep_the_clock_running() -> None:
    """Paused is not an end: the live view's title says ``paused`` and its clock runs
    on; the line view prints the transition like any other."""
    from app.cli.progress import LiveView

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    rows: list[tuple[Any, ...]] = [
        ("e1", 1, 1.0, "execution", None, "running", None, None),
        ("e1", 2, 1.1, "node", "a", "completed", 1, {"output_size": 1}),
        ("e1", 3, 1.2, "execution", None, "paused", None, None),
    ]
    live = LiveView(Terminal(), "t")
    printed = io.StringIO()
    lines = LineView(printed)
    for row in rows:
        live.event(make_event(*row))
        lines.event(make_event(*row))
    try:
        assert live._status is ExecutionStatus.PAUSED and live._t1 is None
        assert "t — paused" in str(live._render().title)
    finally:
        live.end()
    assert printed.getvalue().splitlines()[-1].split()[1:] == ["execution", "paused"]
    resumed = make_event("e1", 4, 1.3, "execution", None, "completed", None, None)
    assert resumed.is_terminal and not make_event(*rows[2]).is_terminal
