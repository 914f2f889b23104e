"""``conductor run --json`` prints exactly one JSON document whatever a node returns —
JSON nested 1,000 deep, deeper, or not JSON at all — in-process, through a spawned
worker over a pipe (the GUI's transport) and against a real ``conductor serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_cli_remote import ROOT, serving

CASES: list[tuple[dict[str, Any], int, str | None]] = [
    ({"kind": "deep", "depth": 1000}, 0, None),
    ({"kind": "deep", "depth": 1001}, 1, "nested more than 1,000 levels"),
    ({"kind": "bytes"}, 1, "bytes are not JSON"),
    ({"kind": "object"}, 1, "Opaque object, not JSON"),
    ({"kind": "cycle"}, 1, "contains itself"),
]


def _depth(value: Any) -> int:
    """Nesting of a parsed document (iteratively: it may be 1,000 deep)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _parsed(text: str) -> Any:
    """``json.loads`` of the whole of stdout (one document, nothing around it), with
    room for 1,000 levels: the stdlib parser recurses once per level."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 2000)
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)


@pytest.fixture
def blueprint_file(tmp_path: Path) -> Path:
    path = tmp_path / "values.json"
    node = {
        "id": "make",
        "type": "python.function",
        "params": {"function": "tests.value_functions:make"},
        "timeout": 30,
    }
    path.write_text(json.dumps({"id": "values", "nodes": [node]}), encoding="utf-8")
    return path


@pytest.fixture(params=["direct", "ipc", "remote"])
def run_json(request: pytest.FixtureRequest, tmp_path: Path, blueprint_file: Path) -> Iterator[Any]:
    """``run(spec)``: ``conductor run FILE --inputs SPEC --json`` over one transport."""
    home = tmp_path / "home"
    env = {**os.environ, "CONDUCTOR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    for name in ("CONDUCTOR_API_URL", "CONDUCTOR_IN_GUI", "CONDUCTOR_TOKEN"):
        env.pop(name, None)
    prefix: list[str] = []
    if request.param == "ipc":
        env["CONDUCTOR_IN_GUI"] = "1"

    def run(spec: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        args = [*prefix, "run", str(blueprint_file), "--inputs", json.dumps(spec), "--json"]
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    if request.param == "remote":
        with serving(home) as (url, _home):  # the client reads the server's token there
            prefix = ["--remote", url]
            yield run
    else:
        yield run


@pytest.mark.parametrize(("spec", "code", "reason"), CASES, ids=[str(c[0]) for c in CASES])
def test_run_json_prints_one_document(
    run_json: Any, spec: dict[str, Any], code: int, reason: str | None
) -> None:
    done = run_json(spec)
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    document = _parsed(done.stdout)  # exactly one document, whole
    if reason is None:
        assert document["status"] == "completed"
        assert _depth(document["outputs"]) == spec["depth"]
        assert _depth(document["nodes"]["make"]["output"]) == spec["depth"]
    else:
        assert document["status"] == "failed"
        error = document["error"]
        assert error["type"] == "NodeOutputError" and error["node_id"] == "make"
        assert reason in error["message"]
        assert document["nodes"]["make"]["status"] == "failed"
