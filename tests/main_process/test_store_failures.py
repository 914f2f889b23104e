"""A store write that fails costs time, never records (issue 11).

Real parts: a real SQLite file, a second process holding its write lock past the
busy timeout, and a real ``tmpfs`` filled mid-run (root only; skipped elsewhere).
The record is read straight from the database file afterwards, not through the
engine that wrote it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from app import Blueprint, create_simple_node
from app.errors import StoreError
from main_process.engine.engine import Engine
from main_process.store import sqlite_store
from tests.reliability.crash_checks import completions, events

LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def chain(n: int, pad: int = 0, hook: Any = None) -> Blueprint:
    """``n`` nodes in a row; each returns a fresh value (``pad`` bytes of text make
    its output spill to a file), and calls ``hook(i)`` first when given."""

    def make(i: int) -> Any:
        async def step(value: Any) -> dict[str, Any]:
            if hook is not None:
                await hook(i)
            return {"i": i, "pad": "x" * pad}

        return step

    return Blueprint(
        id=f"chain-{n}", nodes=[create_simple_node(f"n{i}", "step", make(i)) for i in range(n)]
    )


def record(db: Path, execution_id: str) -> tuple[str | None, set[str], list[int], str | None]:
    """(status, completed nodes, event seqs, last event status) as the file holds them."""
    with closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT status FROM executions WHERE id = ?", (execution_id,)).fetchone()
        done = completions(conn, execution_id)
        seqs, _ = events(conn, execution_id)
        last = conn.execute(
            "SELECT chunk FROM events WHERE execution_id = ? ORDER BY first_seq DESC LIMIT 1",
            (execution_id,),
        ).fetchone()
    import orjson

    last_status = orjson.loads(last[0])[-1][4] if last else None
    return (row[0] if row else None), done, seqs, last_status


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
    if hasattr(sqlite_store, "BUSY_MS"):
        monkeypatch.setattr(sqlite_store, "BUSY_MS", 300)
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


@contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size``, unmounted afterwards (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = Path(tempfile.mkdtemp(prefix="conductor-tmpfs-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def fill(folder: Path) -> Path:
    """Write a file until the file system is full; returns it (delete it to free)."""
    filler = folder / "filler"
    block = b"\0" * 65536
    with filler.open("wb") as out:
        try:
            while True:
                out.write(block)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


class DiskFull:
    """Fills the disk when node ``at`` starts; :meth:`free` gives the space back."""

    def __init__(self, folder: Path, at: int) -> None:
        self.folder = folder
        self.at = at
        self.filler: Path | None = None

    async def __call__(self, i: int) -> None:
        if i == self.at:
            self.filler = fill(self.folder)

    def free(self) -> None:
        if self.filler is not None:
            self.filler.unlink(missing_ok=True)


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
