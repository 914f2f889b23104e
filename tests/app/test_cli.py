"""The ``conductor`` command line, run as a real subprocess (``python -m app``).

What is checked is what scripts and users rely on: exit codes (0 success, 1 the
execution failed, 2 bad usage), one JSON document on stdout with ``--json``, and
for every mistake a user can make a clear message on stderr naming what and
where — never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

#: A blueprint whose middle node fails until a file named ``marker`` exists in its folder.
GATED = {
    "id": "gated",
    "name": "Gated",
    "nodes": [
        {"id": "first", "type": "set", "params": {"value": {"n": 1}}},
        {
            "id": "gate",
            "type": "shell.command",
            "params": {
                "argv": [
                    sys.executable,
                    "-c",
                    "import pathlib, sys\n"
                    "if not pathlib.Path('marker').exists(): sys.exit('marker missing')\n"
                    "print('{\"opened\": true}')",
                ]
            },
        },
        {"id": "last", "type": "set", "params": {"value": {"gate": "{{ input }}"}}},
    ],
}

#: Four problems of different kinds, on known lines of the written file.
INVALID = """{
  "id": "invalid",
  "nodes": [
    {"id": "a", "type": "no.such.type"},
    {"id": "a", "type": "set"},
    {"id": "b", "type": "http.request", "params": {"url": "x", "method": "FETCH"}}
  ],
  "edges": [{"source": "a", "target": "ghost"}]
}
"""


def conductor(
    *args: str, home: Path, cwd: Path | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m app ARGS`` with its own data dir; never through an HTTP server."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=_env(home, extra_env),
        cwd=cwd or home.parent,
        timeout=60,
    )


def _env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home), **(extra or {})}
    env.pop("CONDUCTOR_API_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def user_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, no traceback, and every needle in the message on stderr."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "Traceback" not in done.stdout
    for needle in needles:
        assert needle in done.stderr, (needle, done.stderr)


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("args", [[], ["gui"], ["gui", "x.json"], ["serve"]])
def test_gui_and_server_say_they_arrive_later(args: list[str], home: Path) -> None:
    done = conductor(*args, home=home)
    user_error(done, "later version")
    assert "PySide6" not in done.stderr


def test_run_by_id_with_json_prints_one_result_and_no_progress(home: Path) -> None:
    done = conductor("run", "branch", "-i", "amount=40", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result = json.loads(done.stdout)
    assert result["success"] is True
    assert result["status"] == "completed"
    assert result["outputs"] == {"decision": "approved", "amount": 40}
    assert result["nodes"]["review"]["status"] == "skipped"
    assert result["nodes"]["approve"]["attempts"] == 1
    assert (home / "conductor.db").is_file()


def test_run_file_prints_outputs_and_one_line_per_event(home: Path, tmp_path: Path) -> None:
    blueprint = {
        "id": "pair",
        "inputs": {"who": {"type": "string"}, "n": {"type": "integer", "default": 1}},
        "nodes": [
            {"id": "greet", "type": "set", "params": {"value": "hi {{ inputs.who }}"}},
            {"id": "shout", "type": "log", "params": {"message": "{{ input }} x{{ inputs.n }}"}},
        ],
    }
    path = write(tmp_path / "pair.json", blueprint)
    done = conductor(
        "run", str(path), "--inputs", '{"who": "ada", "n": 2}', "-i", "n=3", home=home
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "hi ada"
    lines = done.stderr.splitlines()
    assert any("greet" in line and "completed" in line for line in lines)
    assert any("shout" in line and "hi ada x3" in line for line in lines)
    assert "pair: completed" in lines[-1]


def test_debug_and_sequential_reach_the_engine(home: Path) -> None:
    done = conductor(
        "run", "fan-out-fan-in", "--debug", "--sequential", "--json", home=home
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["nodes"]["total"]["input"] == [3, 1, 4, 1, 5, 9, 2, 6]
    starts = sorted((n["started_at"], n["finished_at"]) for n in result["nodes"].values())
    for (_, finished), (started, _) in zip(starts, starts[1:], strict=False):
        assert finished <= started  # one node at a time


def test_failed_run_exits_1_then_show_history_and_resume(home: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "gated.json", GATED)
    failed = conductor("run", str(path), home=home, cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    assert "marker missing" in failed.stderr
    assert "'gate'" in failed.stderr
    assert failed.stdout == ""

    history = conductor("history", "--json", home=home)
    assert history.returncode == 0, history.stderr
    (row,) = json.loads(history.stdout)
    execution_id = row["execution_id"]
    assert (row["blueprint_id"], row["status"]) == ("gated", "failed")

    shown = conductor("show", execution_id, home=home)
    assert shown.returncode == 0, shown.stderr
    table = shown.stdout.splitlines()
    assert any(line.split()[:3] == ["gate", "failed", "1"] for line in table)
    assert any(line.split()[:2] == ["last", "cancelled"] for line in table)
    assert "marker missing" in shown.stdout

    (tmp_path / "marker").touch()
    resumed = conductor("resume", execution_id, "--json", home=home, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["execution_id"] == execution_id
    assert result["outputs"] == {"gate": {"opened": True}}
    assert result["nodes"]["first"]["attempts"] == 1

    shown = conductor("show", execution_id, "--json", home=home)
    assert json.loads(shown.stdout)["status"] == "completed"
    filtered = conductor("history", "--status", "failed", "--json", home=home)
    assert json.loads(filtered.stdout) == []
    by_blueprint = conductor("history", "--blueprint", "gated", home=home)
    assert execution_id in by_blueprint.stdout
    assert "completed" in by_blueprint.stdout

    again = conductor("resume", execution_id, home=home, cwd=tmp_path)
    user_error(again, "already completed", execution_id)


@pytest.mark.parametrize(
    ("name", "content", "needles"),
    [
        ("broken.json", '{"id": "x", "nodes": [', ["broken.json", "invalid JSON", "line 1"]),
        ("broken.yaml", "id: y\nnodes:\n  - id: [a\n", ["broken.yaml", "invalid YAML", "line"]),
        ("empty.json", "", ["empty.json", "empty"]),
        ("list.json", "[1, 2]", ["list.json", "mapping"]),
    ],
)
def test_unreadable_blueprint_files_are_usage_errors(
    name: str, content: str, needles: list[str], home: Path, tmp_path: Path
) -> None:
    path = write(tmp_path / name, content)
    user_error(conductor("run", str(path), home=home), *needles)


def test_invalid_blueprint_lists_every_problem_with_file_and_place(
    home: Path, tmp_path: Path
) -> None:
    path = write(tmp_path / "invalid.json", INVALID)
    done = conductor("run", str(path), home=home)
    user_error(
        done,
        "invalid.json",
        "nodes[0].type (line 4)",
        "no.such.type",
        "nodes[1].id (line 5)",
        "nodes[2].params.method (line 6)",
        "edges[0].target (line 8)",
        "ghost",
    )
    assert done.stdout == ""

    as_json = conductor("run", str(path), "--json", home=home)
    user_error(as_json)
    error = json.loads(as_json.stdout)["error"]
    assert error["type"] == "BlueprintError"
    assert len(error["problems"]) == 4


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["run", "no-such-blueprint"], ["no-such-blueprint", "no blueprint"]),
        (["run", "missing/file.json"], ["missing/file.json", "no such file"]),
        (["run", "branch", "-i", "amount"], ["-i", "key=value", "'amount'"]),
        (["run", "branch", "-i", "=3"], ["-i", "key=value"]),
        (["run", "branch", "--inputs", "{amount: 3"], ["--inputs", "not valid JSON"]),
        (["run", "branch", "--inputs", "[3]"], ["--inputs", "JSON object"]),
        (["run", "branch", "--inputs", "@nowhere.json"], ["nowhere.json", "cannot read"]),
        (["run", "branch", "-i", "colour=red"], ["inputs.colour", "unknown input"]),
        (["run", "branch", "-i", "amount=lots"], ["inputs.amount"]),
        (["show", "0000-not-an-execution"], ["0000-not-an-execution", "no execution"]),
        (["resume", "0000-not-an-execution"], ["0000-not-an-execution", "no execution"]),
        (["history", "--limit", "0"], ["--limit"]),
        (["run"], ["FILE|ID"]),
    ],
)
def test_user_errors_are_one_clear_message(args: list[str], needles: list[str], home: Path) -> None:
    user_error(conductor(*args, home=home), *needles)


def test_validate_reports_every_problem_of_every_file(home: Path, tmp_path: Path) -> None:
    invalid = write(tmp_path / "invalid.json", INVALID)
    broken = write(tmp_path / "broken.yaml", "nodes: [\n")
    example = REPO / "resources" / "examples" / "branch.json"
    done = conductor(
        "validate", str(example), str(invalid), str(broken), "fan-out-fan-in", home=home
    )
    user_error(done)
    out = done.stdout.splitlines()
    assert f"{example}: valid" in out
    assert "fan-out-fan-in: valid" in out
    assert sum(line.startswith(f"{invalid}: ") for line in out) == 4
    assert any(line.startswith(f"{invalid}: edges[0].target (line 8): ") for line in out)
    assert any(line.startswith(f"{broken}: ") and "YAML" in line for line in out)

    as_json = conductor("validate", str(example), str(invalid), "--json", home=home)
    user_error(as_json)
    reports = json.loads(as_json.stdout)
    assert [(r["file"], r["valid"], len(r["problems"])) for r in reports] == [
        (str(example), True, 0),
        (str(invalid), False, 4),
    ]


def test_validate_all_examples(home: Path) -> None:
    examples = sorted(str(p) for p in (REPO / "resources" / "examples").glob("*.json"))
    done = conductor("validate", *examples, home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": valid") == len(examples)


def test_nodes_lists_types_as_table_and_json(home: Path) -> None:
    table = conductor("nodes", home=home)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["TYPE", "CATEGORY", "DESCRIPTION"]
    assert any(line.startswith("http.request ") for line in table.stdout.splitlines())

    as_json = conductor("nodes", "--json", home=home)
    types = {t["type"]: t for t in json.loads(as_json.stdout)}
    assert {"http.request", "json.transform", "if", "merge", "sqlite.write"} <= set(types)
    assert types["if"]["ports"] == ["true", "false"]
    assert "url" in types["http.request"]["params_schema"]["properties"]


def test_home_option_wins_over_the_environment(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-home"
    done = conductor("--home", str(other), "run", "branch", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert (other / "conductor.db").is_file()
    assert not (home / "conductor.db").exists()


def test_ctrl_c_interrupts_the_run_and_says_how_to_resume(home: Path, tmp_path: Path) -> None:
    slow = {
        "id": "slow",
        "nodes": [
            {"id": "start", "type": "set", "params": {"value": 1}},
            {"id": "wait", "type": "delay", "params": {"seconds": 60}},
            {"id": "after", "type": "log"},
        ],
    }
    path = write(tmp_path / "slow.json", slow)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "run", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
        cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # wait for the condition: the delay node is running
            if line.split()[1:3] == ["wait", "running"]:
                break
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, rest
    assert "Traceback" not in rest
    assert "conductor resume " in rest
    execution_id = rest.split("conductor resume ")[1].split()[0]
    shown = conductor("show", execution_id, "--json", home=home)
    result = json.loads(shown.stdout)
    assert result["status"] == "interrupted"
    assert result["nodes"]["start"]["status"] == "completed"
