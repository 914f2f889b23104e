"""An execution's owner is alive while the OS says so: its lock file is held.

Real locks, real processes: engines in this process, a subprocess that holds a
lock and is killed, a forked child that must not keep its dead parent "alive",
and two engines that resume the same execution at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import Blueprint, NodeSpec, ResumeError
from app.states import ExecutionStatus
from main_process.engine.engine import Engine
from main_process.store import Store
from main_process.store.owner_lock import (
    LOCKS_DIR,
    OwnerLock,
    lock_held,
    lock_path,
    sweep_dead_locks,
    take_owner_lock,
)
from main_process.store.recovery import HOST, LIVE_OWNERS, OwnerRow, owner_alive

ROOT = Path(__file__).resolve().parents[2]


def _row(
    *,
    lock: str | None = None,
    pid: int | None = None,
    host: str | None = HOST,
    owner: str = "someone",
    lease: float | None = None,
) -> OwnerRow:
    return OwnerRow("e1", owner, pid, host, lease, lock)


async def _until(predicate: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_a_held_lock_is_alive_and_a_released_one_is_not(home: Path) -> None:
    lock = OwnerLock(home, "owner-a")
    try:
        assert (home / LOCKS_DIR / "owner-a.lock").stat().st_mode & 0o777 == 0o600
        assert (home / LOCKS_DIR).stat().st_mode & 0o777 == 0o700
        # Probed from this very process: flock locks are per open file, not per process.
        assert lock_held(home, lock.name)
        assert lock_held(home, lock.name)  # a probe does not disturb the owner's lock
    finally:
        lock.release()
    assert not lock_path(home, lock.name).exists()  # a clean close removes the file
    assert not lock_held(home, lock.name)
    lock.release()  # idempotent


def test_an_unlocked_file_or_a_strange_name(home: Path) -> None:
    (home / LOCKS_DIR).mkdir()
    (home / LOCKS_DIR / "left.lock").write_text("123\n")  # its owner died: nobody holds it
    assert not lock_held(home, "left.lock")
    # A name that is not a lock file's is never opened, and never declared dead.
    assert lock_held(home, "../conductor.db")
    assert lock_held(home, "x")


def test_rows_without_a_lock_fall_back_to_the_pid(home: Path) -> None:
    store = Store(home)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert owner_alive(store, _row(pid=sleeper.pid))
        sleeper.kill()
        sleeper.wait()
        assert not owner_alive(store, _row(pid=sleeper.pid))
        # This process: alive while an engine with that id is registered here.
        assert not owner_alive(store, _row(pid=os.getpid(), owner="gone"))
        LIVE_OWNERS["here"] = store
        try:
            assert owner_alive(store, _row(pid=os.getpid(), owner="here"))
        finally:
            LIVE_OWNERS.pop("here", None)
        # Another host: only an old lease can tell.
        assert owner_alive(store, _row(pid=1, host="elsewhere", lease=time.time() + 60))
        assert not owner_alive(store, _row(pid=1, host="elsewhere", lease=None))
        # With a lock, the pid and the clock do not matter.
        lock = OwnerLock(home, "owner-b")
        assert owner_alive(store, _row(lock=lock.name, pid=sleeper.pid, lease=0.0))
        lock.release()
        assert not owner_alive(store, _row(lock=lock.name, pid=os.getpid(), lease=1e12))
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
        store.close()


HOLDER = r"""
import os, sys, time
from pathlib import Path
from main_process.store.owner_lock import OwnerLock

lock = OwnerLock(Path(sys.argv[1]), "holder")
started, ready = os.pipe()
child = os.fork()
if child == 0:  # a bare fork: must not keep the lock once its parent is gone
    os.write(ready, b"x")  # the fork hooks have run: the child's first own step
    time.sleep(60)
    os._exit(0)
os.read(started, 1)  # under load the child may not have run at all yet
print(child, flush=True)
time.sleep(60)
"""


def test_the_lock_dies_with_its_process_not_with_a_forked_child(home: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    child = 0
    try:
        assert holder.stdout is not None
        child = int(holder.stdout.readline())
        assert lock_held(home, "holder.lock")
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        os.kill(child, 0)  # the forked child still runs...
        assert not lock_held(home, "holder.lock")  # ...and holds nothing
        assert sweep_dead_locks(home) == 1
        assert not lock_path(home, "holder.lock").exists()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def test_a_sweep_keeps_live_locks_and_fresh_ones_being_made(home: Path) -> None:
    live = OwnerLock(home, "live")
    try:
        folder = home / LOCKS_DIR
        (folder / "dead.lock").write_text("1\n")
        (folder / "fresh.lock.tmp").write_text("")  # an engine between create and lock
        (folder / "old.lock.tmp").write_text("")
        os.utime(folder / "old.lock.tmp", (time.time() - 3600, time.time() - 3600))
        (folder / "README").write_text("not ours")
        assert sweep_dead_locks(home) == 2
        assert sorted(p.name for p in folder.iterdir()) == ["README", "fresh.lock.tmp", "live.lock"]
        assert lock_held(home, live.name)
    finally:
        live.release()


def test_no_lock_in_a_data_dir_that_refuses_one(home: Path) -> None:
    (home / LOCKS_DIR).write_text("a file where the folder should be")
    assert take_owner_lock(home, "nowhere") is None


# -- engines ----------------------------------------------------------------------------


def _flaky() -> Blueprint:
    return Blueprint(
        id="flaky",
        nodes=[
            NodeSpec(
                id="n1",
                type="python.function",
                params={"function": "tests.node_functions:fail_while_file"},
            )
        ],
    )


@pytest.fixture
def side_effects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    log, fail = tmp_path / "calls.log", tmp_path / "fail"
    monkeypatch.setenv("CONDUCTOR_TEST_LOG", str(log))
    monkeypatch.setenv("CONDUCTOR_TEST_FAIL", str(fail))
    return {"log": log, "fail": fail}


async def test_engines_in_one_process_each_hold_their_own_lock(home: Path, tmp_path: Path) -> None:
    first = Engine(home, base_dir=tmp_path, plugins=False)
    second = Engine(home, base_dir=tmp_path, plugins=False)
    assert first.owner_lock is not None and second.owner_lock is not None
    names = {first.owner_lock.name, second.owner_lock.name}
    try:
        assert all(lock_held(home, name) for name in names)
    finally:
        await first.close()
    assert not lock_held(home, first.owner_lock.name)
    assert lock_held(home, second.owner_lock.name)  # closing one leaves the other's
    await second.close()
    assert list((home / LOCKS_DIR).iterdir()) == []


async def test_a_dropped_engine_stops_owning_its_executions(home: Path, tmp_path: Path) -> None:
    """An engine collected without close (a script that forgot it) releases its lock,
    as it left the old in-process registry."""
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    assert engine.owner_lock is not None and engine.store is not None
    name, store = engine.owner_lock.name, engine.store
    assert lock_held(home, name)
    del engine
    gc.collect()
    try:
        assert not lock_held(home, name)
    finally:
        store.close()


async def test_two_engines_resuming_one_execution_run_it_once(
    home: Path, tmp_path: Path, side_effects: dict[str, Path]
) -> None:
    side_effects["fail"].touch()
    first = Engine(home, base_dir=tmp_path, plugins=False)
    second = Engine(home, base_dir=tmp_path, plugins=False)
    third = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        failed = await first.execute(blueprint=_flaky())
        assert failed.status is ExecutionStatus.FAILED
        side_effects["fail"].unlink()
        await first.close()
        outcomes = await asyncio.gather(
            second.resume(failed.execution_id),
            third.resume(failed.execution_id),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, ResumeError)]
        done = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(refused) == 1 and len(done) == 1, outcomes
        assert done[0].status is ExecutionStatus.COMPLETED
        assert side_effects["log"].read_text().split() == ["1"]  # n1 ran once
    finally:
        for engine in (first, second, third):
            await engine.close()


async def test_a_resumed_execution_is_refused_to_others_while_it_runs(
    home: Path, tmp_path: Path, side_effects: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once taken over, the execution is ``pending``/``running`` under a live owner: a
    later resume elsewhere is refused (it was ``failed``, resumable, a moment ago)."""
    block = tmp_path / "block"
    block.touch()
    monkeypatch.setenv("CONDUCTOR_TEST_BLOCK", str(block))
    blueprint = Blueprint(
        id="held",
        nodes=[
            NodeSpec(
                id="n1",
                type="python.function",
                params={"function": "tests.node_functions:fail_while_file"},
            ),
            NodeSpec(
                id="n2",
                type="python.function",
                params={"function": "tests.node_functions:block_while_file"},
            ),
        ],
    )
    side_effects["fail"].touch()
    owner = Engine(home, base_dir=tmp_path, plugins=False)
    other = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        failed = await owner.execute(blueprint=blueprint)
        side_effects["fail"].unlink()
        eid = failed.execution_id
        await owner.resume(eid, wait=False)
        assert owner.records.is_active(eid)
        with pytest.raises(ResumeError, match="running in another live process"):
            await other.resume(eid)
        block.unlink()
        assert (await owner.wait(eid)).status is ExecutionStatus.COMPLETED
    finally:
        block.unlink(missing_ok=True)
        await other.close()
        await owner.close()
