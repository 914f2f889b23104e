"""The bundled examples: each is valid, laid out, and does what its description says.

They are the first thing a new user runs, so each is executed for real — the
``api-processing`` one against a local HTTP server, with the rows checked in the
SQLite file it wrote — and its node statuses and outputs are checked, not just
its exit status.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app import Conductor, ExecutionResult
from app.blueprint_files import load_blueprint_file
from app.paths import EXAMPLES_DIR
from app.secret_refs import secret_references

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))
EXPECTED_IDS = {
    "api-processing",
    "multi-step-automation",
    "error-handling",
    "fan-out-fan-in",
    "branch",
    "large-items",
    "subflow-parent",
    "subflow-child",
    "loop-items",
    "loop-body",
    "catch-failures",
    "nightly-sync",
    "notify-failure",
}

ITEMS = [
    {"id": 1, "name": "kettle", "price": 25.5, "stock": 3},
    {"id": 2, "name": "sample", "price": 0, "stock": 100},
    {"id": 3, "name": "lamp", "price": 40, "stock": 0},
    {"id": 4, "name": "refund", "price": -5, "stock": 1},
]


def statuses(result: ExecutionResult) -> dict[str, str]:
    return {node_id: node.status.value for node_id, node in result.nodes.items()}


def closed_port() -> int:
    """A local port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _ItemsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/items":
            self.send_error(404)
            return
        body = json.dumps({"items": ITEMS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture
def items_url() -> Iterator[str]:
    """A real HTTP server on a free local port, serving ``{"items": ITEMS}`` at /items."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ItemsHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/items"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def saved_rows(database: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT id, name, price FROM items ORDER BY id").fetchall()


def test_every_expected_example_is_bundled() -> None:
    assert {path.stem for path in EXAMPLES} >= EXPECTED_IDS


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_example_is_valid_named_and_laid_out(path: Path, conductor: Conductor) -> None:
    blueprint = load_blueprint_file(path)
    assert blueprint.id == path.stem
    assert blueprint.name
    assert blueprint.description
    for ref in secret_references(blueprint):  # an example's secrets are the user's to set
        await conductor.secrets.set(ref.name, "example-secret-value")
    assert await conductor.validate(blueprint) == []
    positions = blueprint.ui.positions
    assert set(positions) == {node.id for node in blueprint.nodes}
    # Laid out left to right: every edge (or step of a sequence) goes rightwards.
    if blueprint.edges is None:
        pairs = list(zip(blueprint.nodes, blueprint.nodes[1:], strict=False))
        steps = [(a.id, b.id) for a, b in pairs]
    else:
        steps = [(edge.source, edge.target) for edge in blueprint.edges]
    for source, target in steps:
        assert positions[source][0] < positions[target][0], (source, target)


async def test_api_processing_saves_positive_items(
    conductor: Conductor, items_url: str, tmp_path: Path
) -> None:
    database = tmp_path / "api.db"
    result = await conductor.execute(
        blueprint_id="api-processing", inputs={"url": items_url, "database": str(database)}
    )
    assert result.success, result.error
    assert result.outputs == {"fetched": 4, "saved": 2}
    assert saved_rows(database) == [(1, "kettle", 25.5), (3, "lamp", 40)]


def test_api_processing_through_the_cli(items_url: str, tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    env = {**os.environ, "CONDUCTOR_HOME": str(tmp_path / "home")}
    env.pop("CONDUCTOR_API_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    args = ["run", "api-processing", "-i", f"url={items_url}", "-i", f"database={database}"]
    done = subprocess.run(
        [sys.executable, "-m", "app", *args, "--json"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["success"] is True
    assert result["outputs"] == {"fetched": 4, "saved": 2}
    assert saved_rows(database) == [(1, "kettle", 25.5), (3, "lamp", 40)]


async def test_api_processing_fails_after_retries_when_nothing_answers(
    conductor: Conductor, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/items"
    result = await conductor.execute(
        blueprint_id="api-processing", inputs={"url": url, "database": str(tmp_path / "x.db")}
    )
    assert not result.success
    assert result.nodes["fetch"].attempts == 3
    assert statuses(result) == {"fetch": "failed", "validate": "cancelled", "save": "cancelled"}
    assert not (tmp_path / "x.db").exists()


async def test_multi_step_automation_writes_its_report(
    conductor: Conductor, tmp_path: Path
) -> None:
    report = tmp_path / "out" / "report.json"
    result = await conductor.execute(
        blueprint_id="multi-step-automation", inputs={"customer": "Grace", "report": str(report)}
    )
    assert result.success, result.error
    summary = result.outputs["summary"]
    assert summary["customer"] == "Grace"
    assert summary["lines"] == 2
    assert summary["total"] == pytest.approx(21.5)
    assert summary["execution"] == result.execution_id
    assert json.loads(report.read_text(encoding="utf-8")) == summary
    assert set(statuses(result).values()) == {"completed"}


async def test_error_handling_retries_continues_and_cleans_up(conductor: Conductor) -> None:
    url = f"http://127.0.0.1:{closed_port()}/status"
    result = await conductor.execute(blueprint_id="error-handling", inputs={"url": url})
    assert result.success, result.error
    assert statuses(result) == {
        "fetch": "failed",
        "check": "completed",
        "fallback": "completed",
        "live": "skipped",
        "result": "completed",
        "cleanup": "completed",
    }
    assert result.nodes["fetch"].attempts == 3
    assert result.nodes["check"].port == "true"
    assert result.outputs["fetch_status"] == "failed"
    assert result.outputs["result"]["source"] == "fallback"
    assert url in result.outputs["result"]["reason"]


async def test_error_handling_takes_the_live_branch_when_the_service_answers(
    conductor: Conductor, items_url: str
) -> None:
    result = await conductor.execute(blueprint_id="error-handling", inputs={"url": items_url})
    assert result.success, result.error
    assert statuses(result)["fallback"] == "skipped"
    assert result.outputs["result"] == {"source": "live", "body": {"items": ITEMS}}


async def test_fan_out_fan_in_merges_parallel_results(conductor: Conductor) -> None:
    result = await conductor.execute(
        blueprint_id="fan-out-fan-in", inputs={"numbers": [5, -2, 11, 4]}
    )
    assert result.success, result.error
    assert result.outputs == {
        "stats": {"total": 18, "largest": 11, "smallest": -2, "sorted": [-2, 4, 5, 11]}
    }


@pytest.mark.parametrize(
    ("amount", "decision", "skipped"),
    [(250, "review", {"approve", "receipt"}), (40, "approved", {"review"})],
)
async def test_branch_skips_the_untaken_side(
    conductor: Conductor, amount: int, decision: str, skipped: set[str]
) -> None:
    result = await conductor.execute(blueprint_id="branch", inputs={"amount": amount})
    assert result.success, result.error
    assert result.outputs == {"decision": decision, "amount": amount}
    assert {n for n, s in statuses(result).items() if s == "skipped"} == skipped
    assert statuses(result)["join"] == "completed"


async def test_large_items_filters_and_sums(conductor: Conductor) -> None:
    count = 20_000
    kept = [i % 97 for i in range(count) if i % 97 >= 50]
    result = await conductor.execute(blueprint_id="large-items", inputs={"count": count})
    assert result.success, result.error
    assert result.outputs == {"generated": count, "kept": len(kept), "total": sum(kept)}
    assert len(result.nodes["generate"].output) == count


async def test_catch_failures_falls_back_and_completes(conductor: Conductor) -> None:
    url = f"http://127.0.0.1:{closed_port()}/items"
    result = await conductor.execute(blueprint_id="catch-failures", inputs={"url": url})
    assert result.success, result.error
    assert statuses(result) == {
        "start": "completed",
        "fetch": "failed",
        "parse": "skipped",
        "audit": "completed",
        "caught": "completed",
        "fallback": "completed",
    }
    assert result.outputs["fallback"]["failed_node"] == "fetch"
    assert url in result.outputs["fallback"]["reason"]
    assert result.outputs["audited"] == "completed"


async def test_catch_failures_skips_the_catch_when_the_fetch_works(
    conductor: Conductor, items_url: str
) -> None:
    result = await conductor.execute(blueprint_id="catch-failures", inputs={"url": items_url})
    assert result.success, result.error
    assert result.nodes["caught"].status.value == "skipped"
    assert result.nodes["parse"].output == {"items": ITEMS}


async def test_nightly_sync_failure_starts_notify_failure(conductor: Conductor) -> None:
    url = f"http://127.0.0.1:{closed_port()}/items"
    failed = await conductor.execute(blueprint_id="nightly-sync", inputs={"url": url})
    assert failed.status.value == "failed"
    assert failed.error_handler_execution_id is not None
    handled = await conductor.wait(failed.error_handler_execution_id)
    assert handled.success, handled.error
    assert handled.blueprint_id == "notify-failure"
    assert handled.handler_for == failed.execution_id
    assert handled.outputs == {
        "summary": {
            "failed": failed.execution_id,
            "blueprint": "nightly-sync",
            "node": "fetch",
            "error": failed.error.type if failed.error else None,
        }
    }
