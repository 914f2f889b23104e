"""The ``conductor`` command line, run as a real subprocess (``python -m app``).

What is checked is what scripts and users rely on: exit codes (0 success, 1 the
execution failed, 2 bad usage), one JSON document on stdout with ``--json``, and
for every mistake a user can make a clear message on stderr naming what and
where — never a traceback.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app import Conductor
from app.cli.progress import LineView, LiveView, make_view

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
        check=False,
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


#: Files the usage-error cases read, by name.
BAD_FILES = {
    "broken.json": '{"id": "x", "nodes": [',
    "broken.yaml": "id: y\nnodes:\n  - id: [a\n",
    "empty.json": "",
    "list.json": "[1, 2]",
    "invalid.json": INVALID,
}

#: Every mistake a user can make on the command line: arguments ({dir} is where
#: BAD_FILES are) and what the message on stderr must name.
USAGE_ERRORS: dict[str, tuple[list[str], list[str]]] = {
    "serve-public-host": (["serve", "--host", "0.0.0.0", "--port", "0"], ["token"]),
    "malformed-json": (["run", "{dir}/broken.json"], ["broken.json", "invalid JSON", "line 1"]),
    "yaml-error": (["run", "{dir}/broken.yaml"], ["broken.yaml", "invalid YAML", "line"]),
    "empty-file": (["run", "{dir}/empty.json"], ["empty.json", "empty"]),
    "not-a-mapping": (["run", "{dir}/list.json"], ["list.json", "mapping"]),
    "invalid-blueprint": (
        ["run", "{dir}/invalid.json"],
        [
            "invalid.json",
            "nodes[0].type (line 4)",
            "no.such.type",
            "nodes[1].id (line 5)",
            "nodes[2].params.method (line 6)",
            "edges[0].target (line 8)",
            "ghost",
        ],
    ),
    "unknown-id": (["run", "no-such-blueprint"], ["no-such-blueprint", "no blueprint"]),
    "missing-file": (["run", "missing/file.json"], ["missing/file.json", "no such file"]),
    "input-without-equals": (["run", "branch", "-i", "amount"], ["-i", "key=value", "'amount'"]),
    "input-without-key": (["run", "branch", "-i", "=3"], ["-i", "key=value"]),
    "inputs-bad-json": (
        ["run", "branch", "--inputs", "{amount: 3"],
        ["--inputs", "not valid JSON"],
    ),
    "inputs-not-object": (["run", "branch", "--inputs", "[3]"], ["--inputs", "JSON object"]),
    "inputs-missing-file": (
        ["run", "branch", "--inputs", "@nowhere.json"],
        ["nowhere.json", "cannot read"],
    ),
    "unknown-input": (["run", "branch", "-i", "colour=red"], ["inputs.colour", "unknown input"]),
    "mistyped-input": (["run", "branch", "-i", "amount=lots"], ["inputs.amount"]),
    "show-unknown": (["show", "0000-not-an-execution"], ["0000-not-an-execution", "no execution"]),
    "resume-unknown": (
        ["resume", "0000-not-an-execution"],
        ["0000-not-an-execution", "no execution"],
    ),
    "bad-limit": (["history", "--limit", "0"], ["--limit"]),
    "run-without-target": (["run"], ["FILE|ID"]),
}


@pytest.fixture(scope="module")
def usage_errors(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every USAGE_ERRORS case, run once, several processes at a time (start-up dominates)."""
    folder = tmp_path_factory.mktemp("usage")
    home = folder / "home"
    for name, content in BAD_FILES.items():
        write(folder / name, content)

    def one(case: str) -> subprocess.CompletedProcess[str]:
        args = [a.replace("{dir}", str(folder)) for a in USAGE_ERRORS[case][0]]
        return conductor(*args, home=home, cwd=folder)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(USAGE_ERRORS, pool.map(one, USAGE_ERRORS), strict=True))


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_user_errors_are_one_clear_message(
    case: str, usage_errors: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = usage_errors[case]
    user_error(done, *USAGE_ERRORS[case][1])
    if case == "invalid-blueprint":
        assert done.stdout == ""


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
    done = conductor("run", str(path), "--inputs", '{"who": "ada", "n": 2}', "-i", "n=3", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "hi ada"
    lines = done.stderr.splitlines()
    assert any("greet" in line and "completed" in line for line in lines)
    assert any("shout" in line and "hi ada x3" in line for line in lines)
    assert "pair: completed" in lines[-1]


def test_debug_and_sequential_reach_the_engine(home: Path) -> None:
    done = conductor("run", "fan-out-fan-in", "--debug", "--sequential", "--json", home=home)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["nodes"]["total"]["input"] == [3, 1, 4, 1, 5, 9, 2, 6]
    starts = sorted((n["started_at"], n["finished_at"]) for n in result["nodes"].values())
    for (_, finished), (started, _) in itertools.pairwise(starts):
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

    # Read-only afterwards, so these run side by side (each pays the start-up).
    queries = [
        ["show", execution_id, "--json"],
        ["history", "--status", "failed", "--json"],
        ["history", "--blueprint", "gated"],
        ["resume", execution_id],
    ]
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        shown, filtered, by_blueprint, again = pool.map(
            lambda args: conductor(*args, home=home, cwd=tmp_path), queries
        )
    assert json.loads(shown.stdout)["status"] == "completed"
    assert json.loads(filtered.stdout) == []
    assert execution_id in by_blueprint.stdout
    assert "completed" in by_blueprint.stdout
    user_error(again, "already completed", execution_id)


def test_invalid_blueprint_with_json_prints_the_error_document(home: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "invalid.json", INVALID)
    as_json = conductor("run", str(path), "--json", home=home)
    user_error(as_json)
    error = json.loads(as_json.stdout)["error"]
    assert error["type"] == "BlueprintError"
    assert len(error["problems"]) == 4


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
    # The secret-header example reads a secret: set, as its description asks.
    assert (
        conductor("secrets", "set", "API_TOKEN", "--value", "example-1", home=home).returncode == 0
    )
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


class _Terminal(io.StringIO):
    """A captured stream that claims to be a terminal, as stderr is in a shell."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream_type", [io.StringIO, _Terminal])
async def test_progress_views_show_every_node_of_a_real_run(
    stream_type: type[io.StringIO], conductor: Conductor
) -> None:
    stream = stream_type()
    view = make_view(stream, "error-handling", quiet=False)
    assert view is not None
    assert isinstance(view, LiveView if stream_type is _Terminal else LineView)
    url = "http://127.0.0.1:1/unreachable"
    execution_id = await conductor.start(blueprint_id="error-handling", inputs={"url": url})
    view.begin(await conductor.get_execution(execution_id))
    async for event in conductor.events(execution_id):
        view.event(event)
    view.end()
    text = stream.getvalue()
    for node_id in ("fetch", "check", "fallback", "live", "result", "cleanup"):
        assert node_id in text
    assert "skipped" in text
    assert "failed" in text
    assert "could not connect" in text
    assert make_view(stream, "x", quiet=True) is None


@pytest.mark.parametrize("args", [[], ["gui", "x.json"]], ids=["no-arguments", "gui"])
def test_the_app_without_a_display_is_a_clear_error(tmp_path: Path, args: list[str]) -> None:
    """``conductor`` and ``conductor gui`` open the window; with no display at all they
    say so instead of letting Qt abort."""
    home = tmp_path / "home"
    env = _env(home)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    user_error(done, "display")


def test_file_root_lets_a_run_write_outside_the_blueprints_folder(tmp_path: Path) -> None:
    """File nodes are confined to the blueprint's folder and home; ``--file-root``
    adds a folder for one command (the message of the refusal says so)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "blueprints"
    folder.mkdir()
    target = elsewhere / "out.json"
    blueprint = folder / "w.json"
    node = {"id": "w", "type": "file.write", "params": {"path": str(target), "content": 1}}
    blueprint.write_text(json.dumps({"id": "w", "nodes": [node]}))
    if target.resolve().is_relative_to(Path.home().resolve()):
        pytest.skip("the temporary folder is inside home, one of the default roots")
    home = tmp_path / "h"
    refused = conductor("run", str(blueprint), "--json", home=home)
    assert refused.returncode == 1
    assert "--file-root DIR" in refused.stdout
    assert not target.exists()
    allowed = conductor("--file-root", str(elsewhere), "run", str(blueprint), home=home)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(target.read_text()) == 1


def test_limit_flags_reach_the_engine(tmp_path: Path) -> None:
    """``--max-process-output-bytes`` sets the limit the run's engine applies (and every
    limit has a flag, an environment variable and a default shown in --help)."""
    from app.limits import LIMITS

    help_text = conductor("--help", home=tmp_path / "home").stdout
    for spec in LIMITS.values():
        assert spec.flag in help_text and spec.env in help_text
    blueprint = write(
        tmp_path / "loud.json",
        {
            "id": "loud",
            "nodes": [{"id": "yes", "type": "shell.command", "params": {"argv": ["yes"]}}],
        },
    )
    done = conductor(
        "--max-process-output-bytes",
        "20000",
        "run",
        str(blueprint),
        "--json",
        home=tmp_path / "home",
    )
    assert done.returncode == 1
    result = json.loads(done.stdout)
    error = result["nodes"]["yes"]["error"]
    assert "wrote more than 20,000 bytes" in error["message"]
