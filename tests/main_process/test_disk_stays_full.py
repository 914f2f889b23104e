"""A disk that stays full: the run fails with a StoreError, the history still reads,
and once space is back the next start marks the execution interrupted and it resumes
(issue 11's decision on store failure).

Real parts: a real ``tmpfs`` filled by the run itself (root only; skipped elsewhere),
the real ``conductor`` CLI in subprocesses, one per step, as a user would type them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.main_process.test_store_failures import tmpfs

ROOT = Path(__file__).resolve().parents[2]


def full_blueprint(filler: Path, once: Path) -> dict[str, Any]:
    """``a``, then ``fill`` (fills the disk, the first time only), then five nodes
    whose outputs spill to files: they cannot be recorded while the disk is full."""
    fill = f"[ -e {once} ] || {{ touch {once}; cat /dev/zero > {filler} 2>/dev/null; }}; echo 1"
    nodes: list[dict[str, Any]] = [
        {"id": "a", "type": "set", "params": {"value": {"first": True}}},
        {"id": "fill", "type": "shell.command", "params": {"argv": ["sh", "-c", fill]}},
    ]
    nodes += [
        {"id": f"big{i}", "type": "set", "params": {"value": "{{ 'x' * 300000 }}"}}
        for i in range(5)
    ]
    return {"id": "full", "nodes": nodes}


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CONDUCTOR_HOME": str(home),
        "CONDUCTOR_STORE_RETRY_SECONDS": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CONDUCTOR_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_disk_that_stays_full_then_frees_resumes_the_execution(tmp_path: Path) -> None:
    with tmpfs("48m") as mount:
        home, filler, once = mount / "home", mount / "filler", tmp_path / "filled-once"
        blueprint = tmp_path / "full.json"
        blueprint.write_text(json.dumps(full_blueprint(filler, once)))
        try:
            run = cli(home, "run", str(blueprint), "--json")
            assert run.returncode == 1, run.stderr
            assert json.loads(run.stdout)["error"]["type"] == "StoreError"
            execution_id = json.loads(cli(home, "history", "--json").stdout)[0]["execution_id"]

            # Still full: reading works; resuming is refused with the store's error.
            listed = cli(home, "history", "--json")
            assert listed.returncode == 0, listed.stderr
            assert [row["execution_id"] for row in json.loads(listed.stdout)] == [execution_id]
            shown = cli(home, "show", execution_id, "--json")
            assert shown.returncode == 0, shown.stderr
            first = json.loads(shown.stdout)["nodes"]["a"]
            assert first["status"] == "completed"
            refused = cli(home, "resume", execution_id)
            assert refused.returncode == 1, refused.stderr
            assert "Traceback" not in refused.stderr
            assert "full" in refused.stderr, refused.stderr

            filler.unlink()  # space is back

            listed = cli(home, "history", "--json")
            assert listed.returncode == 0, listed.stderr
            assert json.loads(listed.stdout)[0]["status"] == "interrupted"
            resumed = cli(home, "resume", execution_id, "--json")
            assert resumed.returncode == 0, resumed.stderr
            result = json.loads(resumed.stdout)
            assert result["status"] == "completed"
            assert {node["status"] for node in result["nodes"].values()} == {"completed"}
            # ``a`` was recorded before the disk filled: reused, not run again.
            assert result["nodes"]["a"]["started_at"] == first["started_at"]
        finally:
            filler.unlink(missing_ok=True)
