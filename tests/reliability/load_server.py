"""A real ``conductor serve`` in a subprocess, and how the load harness measures one.

The server under load must be a separate process: its memory is what is judged,
and an in-process server would share the client's heap (and its garbage). It is
started with the CLI, on port 0 (the OS picks a free one), the token from
``CONDUCTOR_TOKEN``; the port is read from the line the CLI prints on stderr.
stderr keeps being drained by a thread, or a chatty server would block on a
full pipe — the last lines are kept for the report when something goes wrong.

Memory is the resident set size (``psutil``) of a pid. A process's RSS does not
fall the instant its objects die (garbage cycles, allocator arenas, SQLite's
page cache), and a collection cannot be forced from outside, so
:func:`settled_rss` waits, bounded, until the RSS stops falling.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

_LISTENING = re.compile(r"listening on (http://\S+)")
MB = 1024 * 1024


def conductor_command() -> list[str]:
    """The CLI of this environment: the venv's ``conductor`` script, else ``python -m app``."""
    script = Path(sys.executable).with_name("conductor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


class ServeProcess:
    """``conductor --home HOME serve --port 0`` with its working directory at ``workdir``.

    Relative paths in blueprints resolve against the engine's working directory,
    so the files a burst writes land in ``workdir``.
    """

    def __init__(
        self,
        home: Path,
        workdir: Path,
        *,
        start_timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
        serve_args: Sequence[str] = (),
    ) -> None:
        self.home = home
        self.env = dict(env or {})
        self.serve_args = list(serve_args)
        self.workdir = workdir
        self.token = secrets.token_urlsafe(16)
        self.start_timeout = start_timeout
        self.url = ""
        self.stderr_tail: deque[str] = deque(maxlen=50)
        self._listening = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None, "the server is not started"
        return self._proc.pid

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _drain(self, stream: object) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode(errors="replace").rstrip()
            self.stderr_tail.append(line)
            found = _LISTENING.search(line)
            if found and not self.url:
                self.url = found.group(1)
                self._listening.set()

    async def start(self) -> ServeProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "CONDUCTOR_TOKEN": self.token}
        env.pop("CONDUCTOR_API_URL", None)
        command = [
            *conductor_command(),
            "--home",
            str(self.home),
            "serve",
            "--port",
            "0",
            *self.serve_args,
        ]
        self._proc = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        threading.Thread(
            target=self._drain, args=(self._proc.stderr,), name="serve-stderr", daemon=True
        ).start()
        listening = await asyncio.to_thread(self._listening.wait, self.start_timeout)
        if not listening:
            await self.stop()
            raise RuntimeError(
                "conductor serve did not start: " + " | ".join(list(self.stderr_tail)[-5:])
            )
        return self

    async def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (the server's graceful shutdown), then SIGKILL after ``timeout``."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        return proc.returncode

    async def __aenter__(self) -> ServeProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / MB


def vm_rss_mb(pid: int) -> float:
    """``VmRSS`` of ``/proc/<pid>/status`` (what the issue's figures were read from)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return rss_mb(pid)


async def settled_rss(
    pid: int, *, interval: float = 0.25, quiet: float = 2.0, timeout: float = 30.0
) -> float:
    """The RSS once it has stopped falling: no new low (by more than 0.25 MB) for
    ``quiet`` seconds, or ``timeout`` seconds in all. Returns the last sample."""
    deadline = time.monotonic() + timeout
    low = rss_mb(pid)
    last_low = time.monotonic()
    sample = low
    while time.monotonic() < deadline:
        await asyncio.sleep(interval)
        sample = rss_mb(pid)
        if sample < low - 0.25:
            low, last_low = sample, time.monotonic()
        elif time.monotonic() - last_low >= quiet:
            break
    return sample


def established_connections(pid: int, port: int) -> int:
    """TCP connections of ``pid`` on local ``port`` that are not closed yet."""
    count = 0
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_ESTABLISHED:
            count += 1
    return count
