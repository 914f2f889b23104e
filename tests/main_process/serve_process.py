"""A real ``conductor serve`` subprocess on 127.0.0.1 for tests and benchmarks.

Started with ``python -m app serve --port 0`` on a given data dir and token; its URL is
read from the line it prints once listening (waited for, not slept for), and it is
stopped with SIGTERM (killed if it does not exit) when the block ends.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://\S+)")


@contextmanager
def serve_process(
    home: Path, token: str, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Yield the URL of a ``conductor serve`` on ``home`` that needs ``token``."""
    full_env = {
        **os.environ,
        "CONDUCTOR_HOME": str(home),
        "CONDUCTOR_TOKEN": token,
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0"],
        cwd=cwd or home,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the CLI prints where it listens on stderr
        text=True,
    )
    try:
        yield _wait_for_url(process, timeout=60.0)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _wait_for_url(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}: {''.join(seen)}")
    raise RuntimeError(f"serve did not start listening in time: {''.join(seen)}")
