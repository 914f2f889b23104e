"""An error handler starts exactly once even when the process that ran the failed
execution is SIGKILLed right after the failure is committed, before the handler's
own record exists: later engines (two of them racing) start it once, and a resume
that fails again starts no second one."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.states import ExecutionStatus
from main_process.engine.engine import Engine
from tests.main_process.serve_process import serve_process

HOST = "tests.reliability.handler_host"


def _run(command: str, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen(
        [sys.executable, "-m", HOST, command, str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _rows(home: Path) -> list[tuple[str, str, str, str | None, str | None]]:
    with sqlite3.connect(home / "conductor.db") as conn:
        return list(
            conn.execute(
                "SELECT id, blueprint_id, status, error_handler_execution, handler_for"
                " FROM executions ORDER BY created_at"
            )
        )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_a_handler_owed_by_a_killed_owner_starts_exactly_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = _run("fail", home)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    [(failed_id, bp, status, handler_id, _for)] = _rows(home)
    assert (bp, status) == ("fragile", ExecutionStatus.FAILED.value)
    assert handler_id is not None  # owed, recorded with the failure, not started

    racers = [_run("sweep", home), _run("sweep", home)]
    outputs = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err.decode()
        outputs.extend(out.decode().split())
    assert outputs == [handler_id]  # one racer started it, the other found it taken
    rows = _rows(home)
    handlers = [r for r in rows if r[1] == "on-failure"]
    assert len(handlers) == 1
    assert handlers[0][0] == handler_id
    assert handlers[0][2] == ExecutionStatus.COMPLETED.value
    assert handlers[0][4] == failed_id

    engine = Engine(home, plugins=False)
    try:
        assert await engine.handlers.sweep() == []  # nothing owed any more
        resumed = await engine.resume(failed_id)
        assert resumed.status is ExecutionStatus.FAILED
        assert resumed.error_handler_execution_id == handler_id  # the same, not a second
        listed = await engine.list_executions()
        assert sum(1 for s in listed if s.blueprint_id == "on-failure") == 1
    finally:
        await engine.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_serve_starts_an_owed_handler_at_start_up_unasked(tmp_path: Path) -> None:
    """A server started on the data dir starts the handler a killed owner owed, with
    no request of anyone (it used to wait for a first start, list or read)."""
    home = tmp_path / "home"
    proc = _run("fail", home)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    [(failed_id, _bp, _status, handler_id, _for)] = _rows(home)
    with serve_process(home, "t" * 32):
        deadline = time.monotonic() + 60
        while not [r for r in _rows(home) if r[0] == handler_id]:
            assert time.monotonic() < deadline, "the owed handler never started"
            time.sleep(0.05)
    [handler] = [r for r in _rows(home) if r[0] == handler_id]
    assert handler[4] == failed_id
