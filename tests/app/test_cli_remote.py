"""``conductor serve`` and ``conductor --remote URL run``: the CLI on both ends of HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    home = tmp_path / "server-home"
    env = {**os.environ, "CONDUCTOR_HOME": str(home)}
    env.pop("CONDUCTOR_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, line
        yield found.group(1), home
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home)}
    env.pop("CONDUCTOR_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_history_and_show_through_a_server(server: tuple[str, Path]) -> None:
    url, home = server
    done = cli("--remote", url, "run", "branch", "-i", "amount=40", "--json", home=home)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["success"] is True
    assert result["outputs"] == {"decision": "approved", "amount": 40}
    history = cli("--remote", url, "history", "--json", home=home)
    assert [h["execution_id"] for h in json.loads(history.stdout)] == [result["execution_id"]]
    # The run option works too; a node that failed and was continued past is reported.
    handled = cli("run", "--remote", url, "error-handling", "--json", home=home)
    assert handled.returncode == 0, handled.stderr
    nodes = json.loads(handled.stdout)["nodes"]
    assert nodes["fetch"]["status"] == "failed"
    assert nodes["cleanup"]["status"] == "completed"


def test_a_wrong_token_is_one_clear_error(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _home = server
    done = cli("--remote", url, "--token", "wrong", "run", "branch", home=tmp_path / "elsewhere")
    assert done.returncode == 2
    assert "bearer token" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_public_host_without_a_token(tmp_path: Path) -> None:
    done = cli("serve", "--host", "0.0.0.0", "--port", "0", home=tmp_path / "h")
    assert done.returncode == 2
    assert "token" in done.stderr
    assert "Traceback" not in done.stderr
