"""The worker builds event frames from record rows by hand; they must be exactly the
frames the typed messages would give, and decode as such."""

from __future__ import annotations

from typing import Any

from app.events import make_event
from ipc.messages import EventBatch, EventsRequest, decode, encode
from main_process.engine.execution_state import EventRow
from main_process.events.pipe_stream import EventStream


class _NoSource:
    """Only frames are built here: no cursor is ever opened."""

    async def cursor(self, execution_id: str, after_seq: int = 0) -> Any:
        raise AssertionError("not reached")


async def _drop(frame: bytes) -> None:
    return None


def test_hand_built_frames_equal_typed_ones() -> None:
    rows: list[EventRow] = [
        ("e1", 1, 1.5, "execution", None, "pending", None, {"blueprint_id": "b"}),
        ("e1", 2, 1.6, "node", "a", "running", 1, None),
        ("e1", 3, 1.7, "log", "a", None, None, {"level": "info", "message": "héllo ✓"}),
    ]
    stream = EventStream(_NoSource(), EventsRequest(id=7, execution_id="e1"), _drop)
    frame = stream._frame(rows)
    typed = EventBatch(
        id=7,
        execution_id="e1",
        events=[make_event(*r) for r in rows],
    )
    assert frame == encode(typed)
    assert decode(frame) == typed


def test_an_event_too_big_for_a_frame_keeps_its_place() -> None:
    rows: list[EventRow] = [
        ("e1", 1, 1.0, "log", "a", None, None, {"message": "x" * 5000}),
        ("e1", 2, 1.0, "log", "a", None, None, {"message": "small"}),
    ]
    stream = EventStream(
        _NoSource(), EventsRequest(id=1, execution_id="e1"), _drop, max_frame_bytes=4000
    )
    batch = decode(stream._frame(rows))
    assert isinstance(batch, EventBatch)
    assert [e.seq for e in batch.events] == [1, 2]
    assert batch.events[0].data == {"truncated": "the event was larger than a frame"}
    assert batch.events[1].data == {"message": "small"}
