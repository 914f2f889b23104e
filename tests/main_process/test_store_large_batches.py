"""A large record is written by the store's writer thread, never on the loop.

Written inline (the loop's own commit, which is cheaper for the small batches of a
node's completion), the 5 MB ``blueprint_json`` of a new execution held the loop
100-170 ms, measured; the loop must never be blocked more than 100 ms (issue 11).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from app.states import ExecutionStatus
from main_process.engine.engine import Engine
from main_process.store import commits
from main_process.store.ops import Op, WriteExecution, apply_batch
from tests.reliability.hostile_harness import LoopLag

BIG = 5_000_000


def big_blueprint() -> dict[str, Any]:
    text = "x" * BIG
    return {
        "id": "big",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": text}},
            {"id": "b", "type": "set", "params": {"value": "{{ nodes.a.output|length }}"}},
        ],
        "edges": [{"source": "a", "target": "b"}],
    }


async def test_starting_a_5_mb_blueprint_does_not_block_the_loop(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    committed_on: list[str] = []
    real_apply = apply_batch

    def spy(conn: Any, ops: list[Op]) -> Any:
        size = sum(
            len(v)
            for op in ops
            if isinstance(op, WriteExecution)
            for v in op.fields.values()
            if isinstance(v, (bytes, str))
        )
        if size >= BIG:
            committed_on.append(threading.current_thread().name)
        return real_apply(conn, ops)

    monkeypatch.setattr(commits, "apply_batch", spy)
    try:
        warm = {"id": "warm", "nodes": [{"id": "a", "type": "set", "params": {"value": 1}}]}
        await engine.execute(blueprint=warm)
        blueprint = big_blueprint()
        worst = 1.0
        for _ in range(3):  # the best of three: a loaded machine stalls anything at times
            await asyncio.sleep(0.05)
            with LoopLag() as lag:
                result = await engine.execute(blueprint=blueprint)
            assert result.status is ExecutionStatus.COMPLETED, result.error
            assert result.nodes["b"].output == BIG
            worst = min(worst, lag.worst)
        shown = await engine.get_execution(result.execution_id)
        assert shown.status is ExecutionStatus.COMPLETED
    finally:
        await engine.close()
    assert committed_on and threading.main_thread().name not in committed_on, committed_on
    assert worst < 0.1, f"the loop was blocked {worst * 1000:.0f} ms"
