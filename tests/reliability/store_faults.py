"""Store faults with real parts: another process holding SQLite's write lock past
the busy timeout, and a real ``tmpfs`` filled mid-run (root only).

Shared by ``tests/main_process/test_store_failures.py`` and ``bench/reliability.py``
(:func:`store_fault_trial`): a run either ends completed with a complete record
(every node's completion, the terminal event, ``seq`` 1..N) or raises a typed
:class:`~app.errors.StoreError`; never "completed" with less on disk.
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

import orjson

from app import Blueprint, create_simple_node
from app.errors import StoreError
from main_process.engine.engine import Engine
from main_process.store import commits
from tests.reliability.crash_checks import completions, events


class Unavailable(Exception):
    """This machine cannot stage the fault (not root, no tmpfs)."""


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
    last_status = orjson.loads(last[0])[-1][4] if last else None
    return (row[0] if row else None), done, seqs, last_status


async def until(condition: Any, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size``, unmounted afterwards (root only)."""
    if os.geteuid() != 0:
        raise Unavailable("mounting a tmpfs needs root")
    mount = Path(tempfile.mkdtemp(prefix="conductor-tmpfs-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        mount.rmdir()
        raise Unavailable(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def fill(folder: Path) -> Path:
    """Write a file until the file system is full; returns it (delete it to free).
    Unbuffered: a buffered file would raise the ENOSPC again when closed."""
    filler = folder / "filler"
    block = b"\0" * 65536
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, block)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
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


async def _lock_storm(workdir: Path, figures: dict[str, Any]) -> None:
    """A run while another process holds the write lock past the busy timeout."""
    home = workdir / "lock-home"
    engine = Engine(home, base_dir=workdir, plugins=False)
    try:
        await engine.execute(blueprint=chain(3))
        locker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LOCKER,
                str(home / "conductor.db"),
                str(commits.BUSY_MS / 1000 + 1.5),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert locker.stdout is not None
            locker.stdout.readline()
            result = await _outcome(engine.execute(blueprint=chain(20)), figures)
        finally:
            locker.wait(timeout=60)
        await engine.close()
        _judge(home, result, 20, figures)
    finally:
        await engine.close()


async def _disk_full(workdir: Path, figures: dict[str, Any], *, freed: bool) -> None:
    """A run on a tmpfs that fills at node 20; freed after 1.5 s, or never (then the
    retry bound, shortened to 1 s, ends it with a StoreError)."""
    with tmpfs("48m") as mount:
        home = mount / "home"
        disk = DiskFull(mount, at=20)
        engine = Engine(home, base_dir=workdir, plugins=False)
        try:
            store = engine.store
            assert store is not None
            if not freed:
                store.retry_seconds = 1.0
            await engine.execute(blueprint=chain(2))
            task = asyncio.create_task(
                _outcome(engine.execute(blueprint=chain(60, 300_000, disk)), figures)
            )
            if freed:
                while store.write_error is None and not task.done():
                    await asyncio.sleep(0.01)
                await asyncio.sleep(1.5)
                disk.free()
            result = await task
            disk.free()
            await engine.close()
            _judge(home, result, 60, figures)
        finally:
            disk.free()
            await engine.close()


async def _outcome(run: Any, figures: dict[str, Any]) -> Any:
    figures["runs"] += 1
    try:
        return await run
    except StoreError:
        figures["store_errors"] += 1
        return None


def _judge(home: Path, result: Any, nodes: int, figures: dict[str, Any]) -> None:
    """Compare what was reported with what the file holds."""
    if result is None or not result.success:
        return
    figures["reported_finished"] += 1
    status, done, seqs, last = record(home / "conductor.db", result.execution_id)
    if (
        status != "completed"
        or len(done) != nodes
        or seqs != list(range(1, len(seqs) + 1))
        or seqs[-1] != result.last_seq
        or last != "completed"
    ):
        figures["reported_finished_with_incomplete_record"] += 1


async def store_fault_trial(workdir: Path) -> dict[str, Any]:
    """One lock storm and, where a tmpfs can be mounted, a disk full for 1.5 s and one
    that stays full. The store's busy timeout is shortened to 0.3 s meanwhile."""
    figures: dict[str, Any] = {
        "runs": 0,
        "reported_finished": 0,
        "reported_finished_with_incomplete_record": 0,
        "store_errors": 0,
        "disk_full": "run",
    }
    busy = commits.BUSY_MS
    commits.BUSY_MS = 300
    try:
        await _lock_storm(workdir, figures)
        try:
            await _disk_full(workdir, figures, freed=True)
            await _disk_full(workdir, figures, freed=False)
        except Unavailable as exc:
            figures["disk_full"] = f"skipped: {exc}"
    finally:
        commits.BUSY_MS = busy
    return figures
