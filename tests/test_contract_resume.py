"""A resumed execution's events, the same over every transport.

Its record holds an earlier terminal event (``interrupted``) before the events of
the resumed run. ``events()`` must replay past it to the final terminal event: the
HTTP stream used to stop at the first terminal event it saw (found by the crash
harness, tests/reliability).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app import Conductor, create_conductor


def _blueprint() -> dict[str, object]:
    fn = "tests.node_functions:block_while_file"
    return {
        "id": "resumable",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": {"step": 0}}},
            {"id": "held", "type": "python.function", "params": {"function": fn}},
            {"id": "last", "type": "set", "params": {"value": "{{ input.step + 10 }}"}},
        ],
    }


async def test_events_of_a_resumed_execution_run_to_its_final_terminal_event(
    any_conductor: Conductor, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hold"
    marker.touch()
    monkeypatch.setenv("CONDUCTOR_TEST_BLOCK", str(marker))
    # Another engine on the same data dir runs it until it is shut down mid-node.
    other = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    try:
        eid = await other.start(blueprint=_blueprint())
        async for event in other.events(eid):
            if event.node_id == "held" and event.status == "running":
                break
    finally:
        await other.close()
    marker.unlink()

    before = [e async for e in any_conductor.events(eid)]
    assert before[-1].status == "interrupted"
    result = await any_conductor.resume(eid)
    assert result.success, result.error
    assert result.outputs == 11

    after = [e async for e in any_conductor.events(eid)]
    assert [e.seq for e in after] == list(range(1, len(after) + 1))
    assert after[: len(before)] == before
    assert after[-1].kind == "execution"
    assert after[-1].status == "completed"
    # Also when following from just before the old terminal event.
    tail = [e async for e in any_conductor.events(eid, after_seq=before[-1].seq - 1)]
    assert [e.seq for e in tail] == [e.seq for e in after[len(before) - 1 :]]
