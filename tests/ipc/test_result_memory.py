"""A 100,000-item result through the pipe and over HTTP does not grow the client:
W5 (bench/scale_transports.py) run in a fresh client process, whose peak RSS
increase is measured from after its set-up (loosely: the machine is shared)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.main_process.serve_process import serve_process

REPO = Path(__file__).resolve().parents[2]
TOKEN = "bench-token"  # the bench's client token


def measure(home: Path, transport: str, url: str | None = None) -> dict[str, Any]:
    argv = [sys.executable, str(REPO / "bench" / "scale_transports.py"), "--one", transport]
    argv += ["--home", str(home)] + (["--url", url] if url else [])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.parametrize("transport", ["ipc", "http"])
def test_a_large_result_does_not_grow_the_client(
    transport: str, home: Path, tmp_path: Path
) -> None:
    if transport == "ipc":
        figures = measure(home, "ipc")
    else:
        with serve_process(home, TOKEN, cwd=REPO) as url:
            figures = measure(tmp_path, "http", url)
    # Before result handles: ~164 MB on both (the whole result decoded in the client).
    assert figures["client_peak_increase_mb"] < 30, figures
