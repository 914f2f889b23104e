"""Time travel's model: every position of a real run's log, rebuilt from a snapshot and
one page, equals folding the log from the start up to there."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.events import Event
from main_process.engine.engine import Engine
from renderer.monitor.monitor_model import ExecutionView, MonitorModel
from renderer.monitor.replay import Replay


async def _recorded(home: Path, tmp_path: Path) -> tuple[str, list[Event]]:
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        result = await engine.execute(blueprint_id="fan-out-fan-in")
        assert result.success, result.error
        events = await engine.recorded_events(result.execution_id)
        return result.execution_id, events
    finally:
        await engine.close()


def _nodes(view: ExecutionView) -> dict[str, tuple[object, ...]]:
    return {
        node_id: dataclasses.astuple(row)
        for node_id, row in view.nodes.items()
        if row.status != "pending" or row.attempts
    }


@pytest.mark.parametrize("interval", [1, 3, 7, 256])
async def test_every_position_equals_folding_from_the_start(
    home: Path, tmp_path: Path, interval: int
) -> None:
    execution_id, events = await _recorded(home, tmp_path)
    replay = Replay(execution_id, "fan-out-fan-in", interval=interval)
    for start in range(0, len(events), 5):  # fed page by page, as the window does
        replay.feed(events[start : start + 5])
    assert replay.indexed == len(events)
    for seq in range(len(events) + 1):
        after, count = replay.block_for(seq)
        assert 0 <= count <= interval and after + count == seq
        view = replay.state_at(seq, [e for e in events if e.seq > after][:interval])
        fold = MonitorModel()
        fold.ensure(execution_id, "fan-out-fan-in")
        for event in events[:seq]:
            fold.apply(event)
        expected = fold.execution(execution_id)
        assert expected is not None
        assert view.status == expected.status, seq
        assert _nodes(view) == _nodes(expected), seq
        assert view.last_seq == seq


async def test_steps_by_event_and_by_node(home: Path, tmp_path: Path) -> None:
    execution_id, events = await _recorded(home, tmp_path)
    replay = Replay(execution_id)
    replay.feed(events)
    last = len(events)
    assert replay.step(0, -1) == 0 and replay.step(last, 1) == last
    assert replay.step(5, 1) == 6 and replay.step(5, -1) == 4
    ends = [
        e.seq for e in events if e.node_id is not None and e.kind == "node" and e.status.is_terminal
    ]
    walked, position = [], 0
    while (position := replay.step(position, 1, by_node=True)) < last:
        walked.append(position)
    assert walked == [s for s in ends if s < last]
    assert replay.step(ends[1], -1, by_node=True) == ends[0]
    label = replay.describe(ends[0])
    assert label.startswith(f"event {ends[0]} of {last}") and "→ completed" in label
    assert "before the first event" in replay.describe(0)


async def test_pages_out_of_order_and_missing_events_are_refused(
    home: Path, tmp_path: Path
) -> None:
    execution_id, events = await _recorded(home, tmp_path)
    replay = Replay(execution_id, interval=4)
    with pytest.raises(ValueError, match="out of order"):
        replay.feed(events[3:6])
    assert replay.feed(events[:6]) == 6
    assert replay.feed(events[:8]) == 2  # the repeated ones are skipped
    with pytest.raises(ValueError, match="not all given"):
        replay.state_at(7, [])
