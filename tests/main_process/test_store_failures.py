"""A store write that fails costs time, never records (issue 11).

Real parts: a real SQLite file, a second process holding its write lock past the
busy timeout, and a real ``tmpfs`` filled mid-run (root only; skipped elsewhere).
The record is read straight from the database file afterwards, not through the
engine that wrote it (see :mod:`tests.reliability.store_faults`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.errors import StoreError
from main_process.engine.engine import Engine
from main_process.store import commits
from tests.reliability import store_faults
from tests.reliability.store_faults import LOCKER, DiskFull, chain, record

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A fresh tmpfs, or a clean skip where one cannot be mounted."""
    try:
        with store_faults.tmpfs(size) as mount:
            yield mount
    except store_faults.Unavailable as exc:
        pytest.skip(str(exc))


async def until(condition: Any, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_a_write_lock_held_past_the_busy_timeout_costs_time_not_records(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = 10.0  # SQLite's busy timeout as the store sets it; shortened where it can be
    if hasattr(commits, "BUSY_MS"):
        monkeypatch.setattr(commits, "BUSY_MS", 300)
        busy = 0.3
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        await engine.execute(blueprint=chain(3))  # the schema exists, the store is warm
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(home / "conductor.db"), str(busy + 1.5)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert locker.stdout is not None
            assert locker.stdout.readline().strip() == "locked"
            result = await engine.execute(blueprint=chain(20))
        finally:
            locker.wait(timeout=30)
        assert result.success, result.error
        await engine.close()
        status, done, seqs, last = record(home / "conductor.db", result.execution_id)
        assert status == "completed"
        assert done == {f"n{i}" for i in range(20)}
        assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == result.last_seq
        assert last == "completed"
    finally:
        await engine.close()


async def test_a_disk_full_mid_run_then_freed_ends_completed_with_a_complete_record(
    tmp_path: Path,
) -> None:
    with tmpfs("48m") as mount:
        home = mount / "home"
        disk = DiskFull(mount, at=20)
        engine = Engine(home, base_dir=tmp_path, plugins=False)
        try:
            await engine.execute(blueprint=chain(2))
            store = engine.store
            assert store is not None
            task = asyncio.create_task(engine.execute(blueprint=chain(60, 300_000, disk)))
            await until(lambda: store.write_error is not None)  # writes really fail
            await asyncio.sleep(1.5)  # the outage lasts 1.5 s
            assert not task.done()  # nothing is reported while the record is behind
            disk.free()
            result = await task
            assert result.success, result.error
            await engine.close()
            status, done, seqs, last = record(home / "conductor.db", result.execution_id)
            assert status == "completed"
            assert done == {f"n{i}" for i in range(60)}
            assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == result.last_seq
            assert last == "completed"
        finally:
            disk.free()
            await engine.close()


async def test_a_disk_that_stays_full_ends_the_execution_with_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_STORE_RETRY_SECONDS", "1")
    with tmpfs("48m") as mount:
        home = mount / "home"
        disk = DiskFull(mount, at=20)
        engine = Engine(home, base_dir=tmp_path, plugins=False)
        try:
            await engine.execute(blueprint=chain(2))
            with pytest.raises(StoreError):
                await engine.execute(blueprint=chain(60, 300_000, disk))
            disk.free()
            await engine.close()
            with closing(sqlite3.connect(home / "conductor.db")) as conn:
                rows = conn.execute("SELECT id, status FROM executions").fetchall()
            for execution_id, status in rows:
                _, done, seqs, last = record(home / "conductor.db", execution_id)
                assert seqs == list(range(1, len(seqs) + 1))
                if status == "completed":  # never "completed" with an incomplete record
                    assert len(done) in (2, 60) and last == "completed"
        finally:
            disk.free()
            await engine.close()


async def test_the_store_fault_trial_reports_nothing_unrecorded(tmp_path: Path) -> None:
    figures = await store_faults.store_fault_trial(tmp_path)
    assert figures["reported_finished_with_incomplete_record"] == 0, figures
    assert figures["reported_finished"] >= 1, figures


async def test_a_disk_still_full_at_exit_leaves_a_resumable_execution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_STORE_RETRY_SECONDS", "1")
    with tmpfs("48m") as mount:
        home = mount / "home"
        disk = DiskFull(mount, at=20)
        engine = Engine(home, base_dir=tmp_path, plugins=False)
        try:
            with pytest.raises(StoreError):
                await engine.execute(blueprint=chain(60, 300_000, disk))
            await engine.close()  # still full: what is queued is given up
            with closing(sqlite3.connect(home / "conductor.db")) as conn:
                (execution_id,) = conn.execute("SELECT id FROM executions").fetchone()
        finally:
            disk.free()
            await engine.close()
        again = Engine(home, base_dir=tmp_path, plugins=False)
        try:
            stopped = await again.get_execution(execution_id)
        finally:
            await again.close()
        # The next start finds it interrupted (its process is gone), with every
        # completion committed before the disk filled: a resume goes on from there
        # (nodes defined in code, as here, cannot be resumed by another engine).
        assert stopped.status == "interrupted"
        status, done, seqs, _ = record(home / "conductor.db", execution_id)
        assert status == "interrupted"
        assert {f"n{i}" for i in range(20)} <= done
        assert seqs == list(range(1, len(seqs) + 1))


def test_conductor_run_exits_1_when_the_store_cannot_record(tmp_path: Path) -> None:
    with tmpfs("48m") as mount:
        filler = mount / "filler"
        nodes: list[dict[str, Any]] = [
            {"id": "a", "type": "set", "params": {"value": 1}},
            {
                "id": "fill",
                "type": "shell.command",
                "params": {"argv": ["sh", "-c", f"cat /dev/zero > {filler} 2>/dev/null; echo 1"]},
            },
        ]
        nodes += [
            {"id": f"big{i}", "type": "set", "params": {"value": "{{ 'x' * 300000 }}"}}
            for i in range(5)
        ]
        blueprint = tmp_path / "full.json"
        blueprint.write_text(json.dumps({"id": "full", "nodes": nodes}))
        env = {
            **os.environ,
            "CONDUCTOR_HOME": str(mount / "home"),
            "CONDUCTOR_STORE_RETRY_SECONDS": "1",
            "PYTHONPATH": str(ROOT),
        }
        try:
            done = subprocess.run(
                [sys.executable, "-m", "app", "run", str(blueprint), "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            filler.unlink(missing_ok=True)
        assert done.returncode == 1, done.stderr
        assert json.loads(done.stdout)["error"]["type"] == "StoreError"
