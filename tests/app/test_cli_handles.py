"""``conductor run`` and ``conductor output`` with an output over the inline limit, as
real subprocesses: the run prints the handle (with its preview) and says how to read
the whole value; ``output`` prints it whole, read page by page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ITEMS = [{"id": i, "name": f"item-{i}"} for i in range(40_000)]


def conductor(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CONDUCTOR_API_URL"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "app", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def write_blueprint(tmp_path: Path) -> tuple[Path, Path]:
    blueprint = {
        "id": "big-cli",
        "nodes": [{"id": "make", "type": "set", "params": {"value": "{{ inputs.items }}"}}],
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(blueprint))
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"items": ITEMS}))
    return path, inputs


def test_run_prints_a_handle_and_output_prints_the_value(home: Path, tmp_path: Path) -> None:
    path, inputs = write_blueprint(tmp_path)
    ran = conductor(home, "run", str(path), "--inputs", f"@{inputs}")
    assert ran.returncode == 0, ran.stderr
    handle: dict[str, Any] = json.loads(ran.stdout)
    assert handle["kind"] == "handle" and handle["count"] == len(ITEMS)
    assert handle["preview"] == ITEMS[:5]
    eid = handle["execution_id"]
    assert f"conductor output {eid}" in ran.stderr and "--include-node-outputs" in ran.stderr

    whole = conductor(home, "output", eid)
    assert whole.returncode == 0, whole.stderr
    assert json.loads(whole.stdout) == ITEMS
    node = conductor(home, "output", eid, "make")
    assert json.loads(node.stdout) == ITEMS
    page = conductor(home, "output", eid, "make", "--offset", "39998", "--limit", "5")
    found = json.loads(page.stdout)
    assert (found["total"], found["items"]) == (len(ITEMS), ITEMS[-2:])

    shown = conductor(home, "show", eid, "--json")
    assert json.loads(shown.stdout)["nodes"]["make"]["output"]["kind"] == "handle"


def test_run_with_include_node_outputs_prints_the_value(home: Path, tmp_path: Path) -> None:
    path, inputs = write_blueprint(tmp_path)
    ran = conductor(home, "run", str(path), "--inputs", f"@{inputs}", "--include-node-outputs")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == ITEMS
    as_json = conductor(home, "run", str(path), "--inputs", f"@{inputs}", "--json")
    result = json.loads(as_json.stdout)
    assert result["outputs"]["kind"] == "handle"
    assert result["nodes"]["make"]["output"]["size_bytes"] > 1024 * 1024
