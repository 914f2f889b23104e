"""``conductor secrets set|list|delete``, locally and with ``--remote``, and a run of the
secret-header example whose output, logs and data dir never show the value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.secret_rules import MASK
from tests.app.test_cli_remote import ROOT, cli, serving

PLANTED = "s3cr3t-planted-value-123"


def cli_input(*args: str, home: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home)}
    env.pop("CONDUCTOR_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def files_holding(home: Path, needle: str) -> list[str]:
    data = needle.encode()
    return [str(p) for p in home.rglob("*") if p.is_file() and data in p.read_bytes()]


def test_set_list_delete_locally(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = cli_input("secrets", "set", "API_TOKEN", home=home, stdin=PLANTED + "\n")
    assert done.returncode == 0, done.stderr
    listed = cli("secrets", "list", home=home)
    assert listed.stdout.split() == ["API_TOKEN"]
    as_json = cli("secrets", "list", "--json", home=home)
    assert json.loads(as_json.stdout) == {"names": ["API_TOKEN"]}
    short = cli("secrets", "set", "SHORT", "--value", "abc", home=home)
    assert short.returncode == 2 and "at least 4 characters" in short.stderr
    bad = cli("secrets", "set", "no-dashes", "--value", "long-enough", home=home)
    assert bad.returncode == 2 and "not a secret name" in bad.stderr

    run = cli("run", "secret-header", "--json", home=home)
    assert run.returncode == 0, run.stderr
    outputs = json.loads(run.stdout)["outputs"]
    assert outputs["headers"]["Authorization"] == f"Bearer {MASK}"
    assert outputs["request"]["authorized"] is True  # the node saw the real value
    shown = cli("show", json.loads(run.stdout)["execution_id"], "--json", home=home)
    for done in (listed, as_json, run, shown):
        assert PLANTED not in done.stdout + done.stderr
    assert files_holding(home, PLANTED) == []

    assert cli("secrets", "delete", "API_TOKEN", home=home).returncode == 0
    assert cli("secrets", "delete", "API_TOKEN", home=home).returncode == 1
    missing = cli("run", "secret-header", home=home)
    assert missing.returncode == 2
    assert "secret 'API_TOKEN' is not set" in missing.stderr
    assert "nodes[0].params.value.headers.Authorization" in missing.stderr


def test_remote_sets_the_servers_secrets(tmp_path: Path) -> None:
    with serving(tmp_path / "server-home") as (url, home):
        done = cli_input("--remote", url, "secrets", "set", "API_TOKEN", home=home, stdin=PLANTED)
        assert done.returncode == 0, done.stderr
        assert cli("--remote", url, "secrets", "list", home=home).stdout.split() == ["API_TOKEN"]
        run = cli("--remote", url, "run", "secret-header", "--json", home=home)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["outputs"]["headers"]["Authorization"] == f"Bearer {MASK}"
        assert PLANTED not in run.stdout + run.stderr
        gone = cli("--remote", url, "secrets", "delete", "API_TOKEN", home=home)
        assert gone.returncode == 0, gone.stderr
    assert files_holding(home, PLANTED) == []
