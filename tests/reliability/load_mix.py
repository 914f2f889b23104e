"""The workload of the load harness: which executions run, and what each must end as.

A burst is a mix that touches every path an execution can take: the bundled
examples (sequential, DAG, branches, retries, file and SQLite writes, a large
output), runs that fail at run time (a node raising), and long runs that the
harness cancels — some while running, some at once (often still queued behind
the engine's ``max_executions``). Every job knows the status it must end in, so
a run that ends otherwise is counted, not just one that never ends.

Nothing here needs the network beyond loopback: ``api-processing`` fetches from
:class:`ItemsServer`, a stdlib HTTP server on 127.0.0.1; ``error-handling``
asks a port with nothing listening, as the example intends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

#: When the harness cancels a job: never, once its long node runs, or right after start.
CancelWhen = Literal["never", "running", "at_once"]

_ITEMS = json.dumps(
    {"items": [{"id": i, "name": f"item {i}", "price": (i % 7) - 2} for i in range(40)]}
).encode()

#: A node that raises at run time (``generate_items`` refuses a negative count).
FAILING_FUNCTION: dict[str, Any] = {
    "id": "load-failing-function",
    "name": "Load: a function that raises",
    "nodes": [
        {"id": "prepare", "type": "set", "params": {"value": {"count": -1}}},
        {
            "id": "generate",
            "type": "python.function",
            "params": {"function": "main_process.nodes.example_functions:generate_items"},
        },
    ],
}

#: A JMESPath expression that is valid but fails on its input (``sum`` of a string).
FAILING_TRANSFORM: dict[str, Any] = {
    "id": "load-failing-transform",
    "name": "Load: a transform that fails on its input",
    "nodes": [
        {"id": "text", "type": "set", "params": {"value": "not a list"}},
        {"id": "total", "type": "json.transform", "params": {"expression": "sum(@)"}},
    ],
}

#: A long run for the harness to cancel; the ``delay`` node is the one to wait for.
LONG_RUN: dict[str, Any] = {
    "id": "load-long-run",
    "name": "Load: a long delay",
    "nodes": [
        {"id": "begin", "type": "set", "params": {"value": {"ok": True}}},
        {"id": "wait", "type": "delay", "params": {"seconds": 120}},
        {"id": "after", "type": "log", "params": {"message": "not reached"}},
    ],
}
LONG_NODE = "wait"

#: Many events from one node: the stalled-consumer run.
EMIT_LOGS: dict[str, Any] = {
    "id": "load-emit-logs",
    "name": "Load: many log events",
    "nodes": [
        {
            "id": "emit",
            "type": "python.function",
            "params": {"function": "main_process.nodes.example_functions:emit_logs"},
        }
    ],
}


@dataclass
class Job:
    """One execution of a burst and the status it must end in."""

    index: int
    label: str
    expect: str
    blueprint_id: str | None = None
    blueprint: dict[str, Any] | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    cancel: CancelWhen = "never"

    def target(self) -> dict[str, Any]:
        """The keyword arguments of ``start`` (and the body of ``POST /v1/executions``)."""
        if self.blueprint is not None:
            return {"blueprint": self.blueprint, "inputs": self.inputs}
        return {"blueprint_id": self.blueprint_id, "inputs": self.inputs}


def make_jobs(n: int, items_url: str) -> list[Job]:
    """``n`` jobs cycling through the mix (10 kinds, so ``n >= 10`` covers all).

    Relative paths (reports, SQLite files) are per job, resolved by the engine
    against its working directory, so concurrent runs never share a file.
    """
    kinds: Sequence[tuple[str, str, dict[str, Any] | None, str | None, CancelWhen]] = (
        ("branch-review", "completed", None, "branch", "never"),
        ("fan-out-fan-in", "completed", None, "fan-out-fan-in", "never"),
        ("multi-step-automation", "completed", None, "multi-step-automation", "never"),
        ("error-handling", "completed", None, "error-handling", "never"),
        ("large-items", "completed", None, "large-items", "never"),
        ("api-processing", "completed", None, "api-processing", "never"),
        ("failing-function", "failed", FAILING_FUNCTION, None, "never"),
        ("failing-transform", "failed", FAILING_TRANSFORM, None, "never"),
        ("cancel-running", "cancelled", LONG_RUN, None, "running"),
        ("cancel-at-once", "cancelled", LONG_RUN, None, "at_once"),
    )
    jobs = []
    for i in range(n):
        label, expect, blueprint, blueprint_id, cancel = kinds[i % len(kinds)]
        job = Job(i, label, expect, blueprint_id, blueprint, cancel=cancel)
        if label == "branch-review":
            job.inputs = {"amount": 50 + i}
        elif label == "multi-step-automation":
            job.inputs = {"report": f"report-{i}.json"}
        elif label == "large-items":
            job.inputs = {"count": 2000}
        elif label == "api-processing":
            job.inputs = {"url": items_url, "database": f"api-{i}.db"}
        jobs.append(job)
    return jobs


@dataclass
class StreamCheck:
    """What one execution's event stream showed."""

    seqs: list[int] = field(default_factory=list)
    terminal_status: str | None = None
    #: An event after the terminal one (there must be none).
    after_terminal: bool = False

    def add(self, seq: int, kind: str, status: str | None, terminal: bool) -> None:
        if self.terminal_status is not None:
            self.after_terminal = True
        self.seqs.append(seq)
        if terminal:
            self.terminal_status = status

    @property
    def gaps(self) -> int:
        """Seqs missing, repeated or out of order against 1..N (0 for a perfect stream)."""
        expected = list(range(1, len(self.seqs) + 1))
        if self.seqs == expected:
            return 0
        return max(1, len(set(expected) ^ set(self.seqs)))

    @property
    def complete(self) -> bool:
        return self.terminal_status is not None and not self.after_terminal


@contextmanager
def items_server() -> Iterator[str]:
    """A loopback JSON API answering ``{"items": [...]}``; yields its ``/items`` URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(_ITEMS)))
            self.end_headers()
            self.wfile.write(_ITEMS)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="load-items", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/items"
    finally:
        server.shutdown()
        server.server_close()
