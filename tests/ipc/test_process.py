"""The process handle and client against misbehaving workers (tests/ipc/problem_worker.py):
death noticed at once, the restart policy and its limit, and bad frames from the worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from app.api import Conductor
from ipc.client import IpcTransport
from ipc.errors import ProtocolError, WorkerDiedError
from ipc.process import WorkerState, WorkerStatus

ROOT = Path(__file__).resolve().parents[2]

Make = Callable[..., IpcTransport]


@pytest.fixture
async def make(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., IpcTransport]]:
    """Build transports on a problem worker; every one is closed at the end."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    made: list[IpcTransport] = []

    def build(
        entry: str, states: list[WorkerStatus] | None = None, **options: object
    ) -> IpcTransport:
        options.setdefault("close_timeout", 2.0)
        t = IpcTransport(
            home,
            entry_point=f"tests.ipc.problem_worker:{entry}",
            on_state=None if states is None else states.append,
            **options,  # type: ignore[arg-type]
        )
        made.append(t)
        return t

    yield build
    for t in made:
        await t.close()


def gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_worker_that_dies_at_start_is_restarted_up_to_the_limit(make: Make) -> None:
    states: list[WorkerStatus] = []
    t = make("exit_at_start", states, max_restarts=2)
    with pytest.raises(WorkerDiedError, match="gave up after 2 restart") as info:
        await asyncio.wait_for(Conductor(t).node_types(), 30)
    assert "exited with code 3 before it was ready" in info.value.message
    S = WorkerState
    assert [s.state for s in states] == [
        S.STARTING,
        S.DEAD,
        S.RESTARTING,
        S.STARTING,
        S.DEAD,
        S.RESTARTING,
        S.STARTING,
        S.DEAD,
        S.GAVE_UP,
    ]
    assert states[-1].restarts == 2
    with pytest.raises(WorkerDiedError, match="gave up"):  # and stays given up
        await Conductor(t).node_types()


async def test_a_worker_that_cannot_start_says_why(make: Make) -> None:
    t = make("fail_to_start", max_restarts=0)
    with pytest.raises(WorkerDiedError, match="disk on fire"):
        await asyncio.wait_for(Conductor(t).node_types(), 30)


async def test_a_worker_speaking_another_protocol_is_a_failed_start(make: Make) -> None:
    t = make("hello_from_the_future", max_restarts=0)
    with pytest.raises(WorkerDiedError, match=r"bad frame.*protocol version 2"):
        await asyncio.wait_for(Conductor(t).node_types(), 30)


async def test_a_worker_that_never_says_hello_is_stopped(make: Make) -> None:
    states: list[WorkerStatus] = []
    t = make("hang_at_start", states, max_restarts=0, start_timeout=1.0)
    with pytest.raises(WorkerDiedError, match="sent no hello within 1 s"):
        await asyncio.wait_for(Conductor(t).node_types(), 30)
    assert gone(states[0].pid)


async def test_death_fails_the_pending_call_at_once_and_the_worker_comes_back(
    make: Make,
) -> None:
    states: list[WorkerStatus] = []
    t = make("hello_only", states)
    await t.ping()
    first = t.process.pid
    pending = asyncio.ensure_future(Conductor(t).node_types())  # never answered by this worker
    await asyncio.sleep(0)  # let it reach the pipe
    killed = time.perf_counter()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    with pytest.raises(WorkerDiedError, match=f"pid {first}.*SIGKILL"):
        await asyncio.wait_for(pending, 5)
    assert time.perf_counter() - killed < 1.0
    await asyncio.wait_for(t.ping(), 30)  # waits for the restarted worker
    assert t.process.pid not in (None, first)
    assert [s.state for s in states][-4:] == [
        WorkerState.DEAD,
        WorkerState.RESTARTING,
        WorkerState.STARTING,
        WorkerState.READY,
    ]


async def test_a_stable_start_forgets_earlier_restarts(make: Make) -> None:
    t = make("crash_on_request", max_restarts=1, stable_start=0.0)
    for _ in range(3):  # each life was "stable", so the limit of 1 is never reached
        with pytest.raises(WorkerDiedError, match="exited with code 13"):
            await asyncio.wait_for(Conductor(t).node_types(), 30)
    await asyncio.wait_for(t.ping(), 30)


async def test_crash_loop_gives_up_and_restart_starts_afresh(make: Make) -> None:
    states: list[WorkerStatus] = []
    t = make("crash_on_request", states, max_restarts=1, stable_start=60.0)
    for _ in range(2):
        with pytest.raises(WorkerDiedError, match="exited with code 13"):
            await asyncio.wait_for(Conductor(t).node_types(), 30)
    with pytest.raises(WorkerDiedError, match="gave up after 1 restart"):
        await asyncio.wait_for(t.ping(), 30)
    assert states[-1].state is WorkerState.GAVE_UP
    await asyncio.wait_for(t.process.restart(), 30)
    assert t.process.status.state is WorkerState.READY
    await t.ping()


async def test_bad_frames_from_the_worker_fail_only_their_call(make: Make) -> None:
    t = make("garbage_replies")
    with pytest.raises(ProtocolError, match="bad result message"):
        await asyncio.wait_for(Conductor(t).node_types(), 30)
    with pytest.raises(ProtocolError, match="protocol version 2"):
        await asyncio.wait_for(Conductor(t).list_blueprints(), 30)
    with pytest.raises(ProtocolError, match="truncated"):
        await asyncio.wait_for(Conductor(t).get_blueprint("x"), 30)
    with pytest.raises(ProtocolError, match="unknown message kind 'gossip'"):
        await asyncio.wait_for(Conductor(t).list_executions(), 30)
    assert await asyncio.wait_for(Conductor(t).validate({"id": "x", "nodes": []}), 30) == []


async def test_close_stops_a_worker_that_ignores_eof(make: Make) -> None:
    states: list[WorkerStatus] = []
    t = make("ignore_eof", states, close_timeout=0.5)
    await t.process.ready()
    pid = t.process.pid
    await asyncio.wait_for(t.close(), 10)
    assert gone(pid)
    assert states[-1].state is WorkerState.CLOSED
    with pytest.raises(Exception, match="closed"):
        await Conductor(t).node_types()


def test_the_worker_import_path_loads_no_qt() -> None:
    """The spawn child imports the worker's entry point: it must stay free of Qt."""
    code = (
        "import sys, ipc.process, main_process.worker;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
