"""``conductor serve`` and ``conductor --remote URL run``: the CLI on both ends of HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with serving(tmp_path / "server-home") as found:
        yield found


@contextmanager
def serving(home: Path, *options: str) -> Iterator[tuple[str, Path]]:
    """A real ``conductor serve --port 0 OPTIONS`` subprocess; its URL and data dir."""
    env = {**os.environ, "CONDUCTOR_HOME": str(home)}
    env.pop("CONDUCTOR_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0", *options],
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


def test_serve_takes_the_documented_token_option(tmp_path: Path) -> None:
    """README: ``conductor serve [--host] [--port] [--token T]``."""
    home = tmp_path / "h"
    with serving(home, "--token", "s3cret-T") as (url, _home):
        good = httpx.get(f"{url}/v1/node-types", headers={"Authorization": "Bearer s3cret-T"})
        assert good.status_code == 200 and good.json()
        assert httpx.get(f"{url}/v1/node-types").status_code == 401
        wrong = httpx.get(f"{url}/v1/node-types", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        # The token file was not needed (nor written): the option is the token.
        assert not (home / "token").exists()
        done = cli("--remote", url, "--token", "s3cret-T", "nodes", "--json", home=tmp_path)
        assert done.returncode == 0, done.stderr
        assert any(t["type"] == "delay" for t in json.loads(done.stdout))


def slow(seconds: float) -> dict[str, object]:
    """A delay then a value: long enough that a CLI started after it (seconds on a
    loaded machine: a 1 s delay lost that race) still finds it running."""
    return {
        "id": "slow",
        "nodes": [
            {"id": "first", "type": "delay", "params": {"seconds": seconds}},
            {"id": "second", "type": "set", "params": {"value": "done"}},
        ],
    }


def _start(url: str, token: str, seconds: float) -> str:
    response = httpx.post(
        f"{url}/v1/executions",
        json={"blueprint": slow(seconds), "wait": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


def test_cancel_an_execution_from_the_command_line(tmp_path: Path) -> None:
    with serving(tmp_path / "h", "--token", "T") as (url, _home):
        eid = _start(url, "T", 60.0)  # cancelled long before it ends
        done = cli("--remote", url, "--token", "T", "cancel", eid, "--json", home=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["cancelled"] is True
        shown = cli("--remote", url, "--token", "T", "show", eid, "--json", home=tmp_path)
        result = json.loads(shown.stdout)
        assert result["status"] in ("running", "cancelled")  # cancelling, or done with it
        again = cli("--remote", url, "--token", "T", "cancel", eid, home=tmp_path)
        ghost = cli("--remote", url, "--token", "T", "cancel", "no-such-id", home=tmp_path)
    assert again.returncode in (0, 1) and "Traceback" not in again.stderr
    assert ghost.returncode == 2 and "no-such-id" in ghost.stderr


def test_pause_then_resume_from_the_command_line(tmp_path: Path) -> None:
    with serving(tmp_path / "h", "--token", "T") as (url, _home):
        eid = _start(url, "T", 8.0)  # the resumed run waits for it
        done = cli("--remote", url, "--token", "T", "pause", eid, "--json", home=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"execution_id": eid, "paused": True, "status": "paused"}
        # With a progress view (not --json): it follows the paused execution to its end.
        resumed = cli("--remote", url, "--token", "T", "resume", eid, home=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout) == "done"
        shown = cli("--remote", url, "--token", "T", "show", eid, "--json", home=tmp_path)
    assert json.loads(shown.stdout)["status"] == "completed"
