"""The processes a crash test kills: a spawned pipe worker, or ``conductor serve``.

Both are real: the worker is the one the GUI uses (``create_conductor("ipc")``),
the server is the CLI's ``python -m app serve`` in its own process group. A fault
point is armed by putting ``CONDUCTOR_FAULT`` in the new process's environment only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from app import Conductor, create_conductor
from main_process.faults import ENV as FAULT_ENV

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "crash-test-token"
KINDS = ("worker", "serve")


@dataclass
class Host:
    """One live engine process and a conductor talking to it."""

    kind: str
    conductor: Conductor
    pid: int
    proc: subprocess.Popen[bytes] | None = None
    killed: bool = field(default=False)

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    async def kill(self) -> None:
        """SIGKILL the engine's process and wait until it is gone."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        await self.wait_dead(30.0)

    async def wait_dead(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conductor.close(), 15.0)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 15.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)


async def open_host(kind: str, home: Path, workdir: Path, fault: str | None = None) -> Host:
    """Start an engine process of ``kind`` on ``home``, with ``fault`` armed in it."""
    if kind == "worker":
        return await _open_worker(home, workdir, fault)
    if kind == "serve":
        return await _open_serve(home, workdir, fault)
    raise ValueError(f"unknown host kind {kind!r}; one of {KINDS}")


async def _open_worker(home: Path, workdir: Path, fault: str | None) -> Host:
    # The spawned child copies this process's environment when it starts; the
    # variable is removed again once it is up, so nothing else inherits it.
    previous = os.environ.pop(FAULT_ENV, None)
    if fault:
        os.environ[FAULT_ENV] = fault
    try:
        conductor = create_conductor(
            "ipc", home=home, base_dir=workdir, plugins=False, max_restarts=0
        )
        process = conductor.transport.process  # type: ignore[attr-defined]
        await asyncio.wait_for(process.ready(), 60.0)
    finally:
        os.environ.pop(FAULT_ENV, None)
        if previous is not None:
            os.environ[FAULT_ENV] = previous
    pid = process.pid
    assert pid is not None
    return Host("worker", conductor, pid)


async def _open_serve(home: Path, workdir: Path, fault: str | None) -> Host:
    env = {**os.environ, "CONDUCTOR_HOME": str(home), "CONDUCTOR_TOKEN": TOKEN}
    env.pop(FAULT_ENV, None)
    env.pop("CONDUCTOR_API_URL", None)
    if fault:
        env[FAULT_ENV] = fault
    log_path = workdir / f"serve-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60.0
    while True:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log_path.read_text())
        if found:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"conductor serve did not start: {log_path.read_text()[-2000:]}")
        await asyncio.sleep(0.01)
    conductor = create_conductor("http", api_url=found.group(1), token=TOKEN)
    return Host("serve", conductor, proc.pid, proc)
