"""``conductor run --use-pins / --only / --stop-after / --node-input``: the flags
reach the engine as the run's config, and a lone node without input is one clear
message naming it (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.app.test_cli import conductor, user_error, write

CHAIN: dict[str, Any] = {
    "id": "cli-pins",
    "nodes": [
        {"id": "a", "type": "set", "params": {"value": 1}},
        {"id": "b", "type": "set", "params": {"value": "{{ input + 10 }}"}},
        {"id": "c", "type": "set", "params": {"value": "{{ input * 2 }}"}},
    ],
    "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
    "ui": {"pins": {"a": 5}},
}


def run_json(*args: str, home: Path, cwd: Path) -> dict[str, Any]:
    done = conductor("run", *args, "--json", home=home, cwd=cwd)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_use_pins_and_stop_after_reach_the_engine(home: Path, tmp_path: Path) -> None:
    path = str(write(tmp_path / "chain.json", CHAIN))
    assert run_json(path, home=home, cwd=tmp_path)["outputs"] == {"c": 22}
    pinned = run_json(path, "--use-pins", home=home, cwd=tmp_path)
    assert pinned["outputs"] == {"c": 30}
    assert pinned["config"]["pins"] == {"a": 5}
    upto = run_json(path, "--stop-after", "b", home=home, cwd=tmp_path)
    assert upto["outputs"] == {"b": 11}
    assert upto["nodes"]["c"]["status"] == "skipped"


def test_only_runs_one_node_and_without_input_names_it(home: Path, tmp_path: Path) -> None:
    path = str(write(tmp_path / "chain.json", CHAIN))
    refused = conductor("run", path, "--only", "c", home=home, cwd=tmp_path)
    user_error(refused, "node 'c' has no input", "upstream 'b'")
    typed = conductor("run", path, "--only", "c", "--json", home=home, cwd=tmp_path)
    error = json.loads(typed.stdout)["error"]
    assert (error["type"], error["node_id"]) == ("NodeInputError", "c")
    given = run_json(path, "--only", "c", "--node-input", "4", home=home, cwd=tmp_path)
    assert given["outputs"] == {"c": 8}
    run_json(path, "--use-pins", home=home, cwd=tmp_path)
    alone = run_json(path, "--only", "c", home=home, cwd=tmp_path)  # b's recorded output
    assert alone["outputs"] == {"c": 30}
    assert alone["nodes"]["a"]["output"] == 5  # lent with b's, from the pinned run
    bad = conductor("run", path, "--only", "c", "--node-input", "{", home=home, cwd=tmp_path)
    user_error(bad, "--node-input", "not valid JSON")
