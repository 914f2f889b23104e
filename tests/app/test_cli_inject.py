"""``conductor run --inject NODE=FAULT``: the run fails (or slows) where asked, the
faults are shown by ``history`` and ``show``, and a bad flag is a usage error."""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import conductor, user_error, write

PIPELINE = {
    "id": "piped",
    "nodes": [
        {"id": "fetch", "type": "set", "params": {"value": {"n": 1}}, "timeout": 5},
        {"id": "save", "type": "set", "params": {"value": "{{ input }}"}},
    ],
}


def test_inject_fails_the_run_and_history_shows_it(home: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "piped.json", PIPELINE)
    plain = conductor("run", str(path), home=home)
    assert plain.returncode == 0, plain.stderr
    failed = conductor(
        "run", str(path), "--inject", "fetch=error", "--inject", "save=slow:0.1", home=home
    )
    assert failed.returncode == 1, failed.stderr
    assert "InjectedFaultError" in failed.stderr or "injected failure" in failed.stderr
    assert "Traceback" not in failed.stderr

    listed = conductor("history", home=home)
    assert listed.returncode == 0, listed.stderr
    header, newest, older = listed.stdout.splitlines()[:3]
    assert header.split()[-1] == "INJECTED"
    assert newest.endswith("fetch=error, save=slow:0.1") and older.endswith("-")
    rows = json.loads(conductor("history", "--json", home=home).stdout)
    assert rows[0]["inject"] == {"fetch": "error", "save": "slow:0.1"}
    assert rows[1]["inject"] is None

    shown = conductor("show", rows[0]["execution_id"], home=home)
    assert "injected   fetch=error, save=slow:0.1 (simulated failures)" in shown.stdout
    assert "InjectedFaultError" in shown.stdout


def test_bad_inject_flags_are_usage_errors(home: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "piped.json", PIPELINE)
    user_error(conductor("run", str(path), "--inject", "fetch", home=home), "--inject", "NODE=")
    user_error(
        conductor("run", str(path), "--inject", "fetch=explode", home=home), "--inject", "fetch"
    )
    user_error(
        conductor("run", str(path), "--inject", "ghost=error", home=home), "config.inject", "ghost"
    )
    user_error(conductor("run", str(path), "--inject", "save=timeout", home=home), "no timeout")
