"""The data dir holds every run's inputs and outputs: Conductor creates it 0700, and
the database and spilled outputs 0600 (it was 0755 and 0644: world-readable)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from app.states import ExecutionStatus
from main_process.engine.engine import Engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_data_dir_and_its_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        big = {
            "id": "big",
            "nodes": [{"id": "n", "type": "set", "params": {"value": list(range(6000))}}],
        }
        result = await engine.execute(blueprint=big)
        assert result.status is ExecutionStatus.COMPLETED
    finally:
        await engine.close()
    assert mode(home) == 0o700
    database = home / "conductor.db"
    assert mode(database) == 0o600
    for extra in ("conductor.db-wal", "conductor.db-shm"):
        if (home / extra).exists():
            assert mode(home / extra) == 0o600, extra
    spilled = [p for p in (home / "outputs").rglob("*") if p.is_file()]
    assert spilled, "the 6,000-item output should have been spilled to a file"
    assert all(mode(p) == 0o600 for p in spilled)
    assert all(mode(p) == 0o700 for p in (home / "outputs").rglob("*") if p.is_dir())


async def test_an_existing_open_data_dir_is_warned_about_not_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "shared"
    home.mkdir()
    os.chmod(home, 0o755)
    with caplog.at_level(logging.WARNING):
        engine = Engine(home, base_dir=tmp_path, plugins=False)
        await engine.close()
    assert mode(home) == 0o755
    assert any("readable by others" in r.getMessage() for r in caplog.records)
