"""The wire format: every message round-trips, every bad frame is a typed ProtocolError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import BlueprintError, Problem, error_from_info
from app.events import NodeEvent
from app.operations import (
    CancelRequest,
    ExecuteRequest,
    ExecutionReply,
    NodeTypesRequest,
    ProblemsReply,
    StartReply,
)
from app.results import ExecutionResult, NodeResult
from app.states import ExecutionStatus, NodeStatus
from ipc.errors import ProtocolError, WorkerDiedError
from ipc.frame_errors import peek_id
from ipc.messages import (
    Abandon,
    Credit,
    ErrorReply,
    EventBatch,
    EventsRequest,
    Heartbeat,
    Hello,
    Message,
    ReplyFrame,
    RequestFrame,
    decode,
    encode,
)
from ipc.protocol import MAX_FRAME_BYTES, PROTOCOL_VERSION

RESULT = ExecutionResult(
    execution_id="e1",
    blueprint_id="bp",
    status=ExecutionStatus.COMPLETED,
    success=True,
    outputs={"n": [1, 2.5, "x", None]},
    nodes={"a": NodeResult(node_id="a", status=NodeStatus.COMPLETED, attempts=1, output=3)},
)

SAMPLES: list[Message] = [
    RequestFrame(
        id=1, request=ExecuteRequest(blueprint={"id": "bp", "nodes": []}, inputs={"x": 1})
    ),
    EventsRequest(id=2, execution_id="e1", after_seq=4, window=3),
    RequestFrame(id=3, request=CancelRequest(execution_id="e1")),
    RequestFrame(id=4, request=NodeTypesRequest()),
    ReplyFrame(id=1, reply=ExecutionReply(method="execute", result=RESULT)),
    ReplyFrame(id=5, reply=StartReply(result="e2")),
    ReplyFrame(
        id=6, reply=ProblemsReply(result=[Problem(where="nodes[0].type", message="unknown")])
    ),
    ErrorReply(
        id=7, error=BlueprintError("bad", problems=[Problem(where="x", message="y")]).to_info()
    ),
    ErrorReply(id=None, error=ProtocolError("garbage").to_info()),
    EventBatch(
        id=2,
        execution_id="e1",
        events=[
            NodeEvent(execution_id="e1", seq=5, ts=1.0, node_id="a", status=NodeStatus.RUNNING)
        ],
    ),
    Credit(id=2, batches=8),
    Abandon(id=2),
    Hello(pid=123),
    Heartbeat(id=9),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: f"{m.kind}-{type(m).__name__}")
def test_every_message_round_trips(msg: Message) -> None:
    frame = encode(msg)
    assert json.loads(frame)["v"] == PROTOCOL_VERSION
    back = decode(frame)
    assert type(back) is type(msg)
    assert back == msg


def test_results_are_revalidated_into_models() -> None:
    frame = decode(encode(ReplyFrame(id=1, reply=ExecutionReply(method="wait", result=RESULT))))
    assert isinstance(frame, ReplyFrame)
    back = frame.reply
    assert isinstance(back, ExecutionReply)
    assert isinstance(back.result, ExecutionResult)
    assert back.result.status is ExecutionStatus.COMPLETED
    assert back.result.nodes["a"].status is NodeStatus.COMPLETED


def test_errors_cross_as_the_same_type() -> None:
    sent = BlueprintError("invalid", problems=[Problem(where="edges[0].target", message="no")])
    back = decode(encode(ErrorReply(id=1, error=sent.to_info())))
    assert isinstance(back, ErrorReply)
    rebuilt = error_from_info(back.error)
    assert isinstance(rebuilt, BlueprintError)
    assert rebuilt.problems == sent.problems
    died = error_from_info(WorkerDiedError("gone").to_info())
    assert isinstance(died, WorkerDiedError)
    assert isinstance(error_from_info(ProtocolError("bad").to_info()), ProtocolError)


def test_values_json_cannot_hold_travel_as_markers() -> None:
    odd = RESULT.model_copy(update={"outputs": {"obj": object()}})
    frame = decode(encode(ReplyFrame(id=1, reply=ExecutionReply(method="execute", result=odd))))
    assert isinstance(frame, ReplyFrame)
    back = frame.reply
    assert isinstance(back, ExecutionReply)
    assert "__unserializable__" in back.result.outputs["obj"]


def _bad(data: bytes, **kwargs: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode(data, **kwargs)
    return info.value


def test_garbage() -> None:
    err = _bad(b"\x00\xffnot json")
    assert err.where == "frame"
    assert "not a JSON document" in err.message
    assert err.request_id is None


def test_truncated_json_keeps_the_request_id() -> None:
    frame = encode(RequestFrame(id=41, request=CancelRequest(execution_id="e1")))
    err = _bad(frame[:-7])
    assert "truncated" in err.message
    assert err.request_id == 41


def test_not_an_object() -> None:
    assert "not an object" in _bad(b"[1, 2]").message


def test_unknown_kind() -> None:
    err = _bad(b'{"v": 1, "kind": "gossip", "id": 3}')
    assert err.where == "frame.kind"
    assert err.request_id == 3


def test_unknown_method() -> None:
    err = _bad(b'{"v": 1, "kind": "request", "id": 3, "method": "format_disk"}')
    assert err.where == "frame.method"
    assert err.request_id == 3


@pytest.mark.parametrize("version", [0, 2, None, "1"])
def test_wrong_version(version: object) -> None:
    data = json.loads(encode(RequestFrame(id=8, request=NodeTypesRequest())))
    data["v"] = version
    err = _bad(json.dumps(data).encode())
    assert err.where == "frame.v"
    assert err.request_id == 8


def test_missing_version() -> None:
    assert _bad(b'{"kind": "hello", "pid": 1}').where == "frame.v"


def test_fields_that_do_not_fit_name_their_place() -> None:
    err = _bad(b'{"v": 1, "kind": "request", "id": 5, "method": "wait"}')
    assert err.where == "frame.execution_id"
    assert err.request_id == 5
    err = _bad(b'{"v": 1, "kind": "credit", "id": 5, "batches": 0}')
    assert err.where == "frame.batches"
    err = _bad(b'{"v": 1, "kind": "hello", "pid": 1, "extra": true}')
    assert err.where == "frame.extra"


def test_oversized_frames_are_refused_both_ways() -> None:
    big = RequestFrame(id=6, request=ExecuteRequest(blueprint_id="x", inputs={"blob": "x" * 5000}))
    with pytest.raises(ProtocolError, match="exceeds the frame limit") as info:
        encode(big, max_bytes=4096)
    assert info.value.request_id == 6
    err = _bad(encode(big), max_bytes=4096)
    assert "exceeds the limit" in err.message
    assert err.request_id == 6
    assert MAX_FRAME_BYTES == 64 * 1024 * 1024


def test_peek_id_reads_only_a_complete_number() -> None:
    assert peek_id(b'{"v":1,"kind":"request","id":1234,"method"') == 1234
    assert peek_id(b'{"v":1,"kind":"request","id":12') is None
    assert peek_id(b"garbage") is None
