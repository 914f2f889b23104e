"""A busy engine's WAL stays bounded.

Regression: each node's completion is its own commit, and the writer thread's
passive checkpoint ran beside those commits, so the WAL was never all copied when a
commit began and no writer could start it over: it grew without end (1 GB after 400
runs of a 100-node chain). Here the bound and the checkpoint interval are scaled
down so that a few seconds of chains cross the bound many times over.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from app import Blueprint, Conductor, create_conductor, create_simple_node
from main_process.store import commits

BOUND_FRAMES = 200
PAGE = 4096


async def step(value: Any) -> dict[str, Any]:
    return {"step": (value or {}).get("step", 0) + 1}


async def test_the_wal_of_a_busy_engine_is_started_over(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commits, "WAL_RESTART_FRAMES", BOUND_FRAMES)
    monkeypatch.setattr(commits, "CHECKPOINT_COMMITS", 50)
    chain = Blueprint(
        id="chain", nodes=[create_simple_node(f"n{i}", "step", step) for i in range(50)]
    )
    c: Conductor = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    wal = home / "conductor.db-wal"
    commits_made = 0
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline or commits_made < 3000:
            result = await c.execute(blueprint=chain)
            assert result.success
            commits_made += 51
        # Without the restart the WAL holds every commit's pages since the start (one or
        # two each): thousands of frames. With it, the bound plus what came meanwhile.
        assert wal.stat().st_size < 10 * BOUND_FRAMES * (PAGE + 24)
        assert commits_made * (PAGE + 24) > 2 * wal.stat().st_size
    finally:
        await c.close()
