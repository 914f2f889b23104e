"""One missing spilled-output file costs that node's output only (issue 11).

Real parts: a real run whose large output is spilled to a file in the data dir, the
file deleted from disk, then the execution read back and resumed over every
transport (in-process, a spawned worker over a pipe, a real HTTP server), and over
the CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import Conductor
from app.errors import OutputUnavailableError
from app.states import ExecutionStatus, NodeStatus

ROOT = Path(__file__).resolve().parents[2]
BIG = "x" * 300_000  # past the store's spill threshold


def blueprint(flag: Path) -> dict[str, Any]:
    """``big`` (spilled), ``small``, then ``flaky``, which fails the first time only:
    the execution fails, and a resume has something to finish."""
    once = f"[ -e {flag} ] && echo 2 || {{ touch {flag}; exit 3; }}"
    return {
        "id": "spilled",
        "nodes": [
            {"id": "big", "type": "set", "params": {"value": "{{ 'x' * 300000 }}"}},
            {"id": "small", "type": "set", "params": {"value": {"n": 1}}},
            {"id": "flaky", "type": "shell.command", "params": {"argv": ["sh", "-c", once]}},
        ],
    }


def spilled_file(home: Path, execution_id: str, node_id: str) -> Path:
    (path,) = (home / "outputs" / execution_id).glob(f"{node_id}-*.json")
    return path


async def test_a_missing_spilled_output_shows_as_unavailable_and_resume_reruns_it(
    any_conductor: Conductor, home: Path, tmp_path: Path
) -> None:
    first = await any_conductor.execute(blueprint=blueprint(tmp_path / "flag"))
    assert first.status is ExecutionStatus.FAILED
    eid = first.execution_id
    spilled_file(home, eid, "big").unlink()

    shown = await any_conductor.get_execution(eid)
    assert shown.status is ExecutionStatus.FAILED
    big, small = shown.nodes["big"], shown.nodes["small"]
    assert big.status is NodeStatus.COMPLETED and big.output is None
    assert big.error is not None and big.error.type == "OutputUnavailableError"
    assert big.error.node_id == "big" and "missing" in big.error.message
    assert small.output == {"n": 1} and small.error is None
    with pytest.raises(OutputUnavailableError) as unavailable:
        await any_conductor.node_output(eid, "big")
    assert unavailable.value.node_id == "big"
    assert (await any_conductor.node_output(eid, "small")).items == [["n", 1]]
    events = [event async for event in any_conductor.events(eid)]
    assert events[-1].status == ExecutionStatus.FAILED

    resumed = await any_conductor.resume(eid)
    assert resumed.status is ExecutionStatus.COMPLETED, resumed.error
    assert resumed.nodes["big"].output == BIG and resumed.nodes["big"].error is None
    assert resumed.nodes["big"].started_at != big.started_at  # run again
    assert resumed.nodes["small"].started_at == small.started_at  # reused
    assert spilled_file(home, eid, "big").exists()
    again = await any_conductor.get_execution(eid)
    assert again.nodes["big"].output == BIG


def test_conductor_show_and_resume_with_a_missing_spilled_output(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = tmp_path / "spilled.json"
    path.write_text(json.dumps(blueprint(tmp_path / "flag")))
    env = {**os.environ, "CONDUCTOR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("CONDUCTOR_API_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    run = cli("run", str(path), "--json")
    assert run.returncode == 1, run.stderr
    eid = json.loads(run.stdout)["execution_id"]
    spilled_file(home, eid, "big").unlink()
    shown = cli("show", eid)
    assert shown.returncode == 0, shown.stderr
    assert "OutputUnavailableError" in shown.stdout and "small" in shown.stdout
    document = cli("show", eid, "--json")
    assert document.returncode == 0, document.stderr
    nodes = json.loads(document.stdout)["nodes"]
    assert nodes["big"]["error"]["type"] == "OutputUnavailableError"
    resumed = cli("resume", eid, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "completed"
    assert result["nodes"]["big"]["output"] == BIG
    assert result["nodes"]["small"]["started_at"] == nodes["small"]["started_at"]
