"""A real ``conductor serve`` subprocess for the trigger tests (stderr to a file, so a
chatty server never blocks on a full pipe)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "trigger-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log


@contextmanager
def serving(home: Path, log: Path, *options: str) -> Iterator[Served]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home), "CONDUCTOR_TOKEN": TOKEN}
    env.pop("CONDUCTOR_API_URL", None)
    env["PYTHONPATH"] = str(ROOT)
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", "0", *options],
            cwd=ROOT,
            env=env,
            stderr=sink,
            stdout=subprocess.DEVNULL,
        )
    try:
        url = _wait_for_url(proc, log)
        yield Served(proc, url, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_url(proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(
            r"listening on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace")
        )
        if found:
            return found.group(1)
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text(errors='replace')}")
        time.sleep(0.05)
    raise AssertionError(f"serve did not start: {log.read_text(errors='replace')}")


def wait(condition: object, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def read_log(proc_log: Path) -> str:
    return proc_log.read_text(errors="replace")
