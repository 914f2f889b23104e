"""Issue 12, bug 7: "Run from here" re-ran the upstream HTTP call. It must reuse the
upstream's recorded output — for a run started in this window and for one opened
from History — and call the server once in all."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.blueprint import Blueprint
from app.states import ExecutionStatus, NodeStatus
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"items": [1, 2, 3]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/items", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch_then_shape(url: str) -> Blueprint:
    return Blueprint.model_validate(
        {
            "id": "fetch-shape",
            "nodes": [
                {"id": "fetch", "type": "http.request", "params": {"url": url}},
                {"id": "shape", "type": "json.transform", "params": {"expression": "items"}},
            ],
            "edges": [{"source": "fetch", "target": "shape"}],
        }
    )


async def finished(window: MainWindow, execution_id: str | None) -> None:
    assert execution_id is not None
    await until(
        lambda: (
            (v := window.bridge.model.execution(execution_id)) is not None
            and v.status is ExecutionStatus.COMPLETED
        ),
        what=f"{execution_id} completed",
    )


async def test_run_from_here_reuses_the_upstream_call(
    window: MainWindow, server: tuple[str, list[str]]
) -> None:
    url, hits = server
    window.document.load(fetch_then_shape(url))
    await finished(window, await window.runs.run())
    assert len(hits) == 1
    window.scene.select_nodes(["shape"])
    for again in (2, 3):  # the second time reuses what the first run from here lent on
        await until(window.commands.run_from_here.isEnabled, what="Run from here enabled")
        window.commands.run_from_here.trigger()
        await until(lambda n=again: len(window.runs._runs) == n, what=f"run {again} started")
        await finished(window, window.runs.current)
        assert len(hits) == 1, f"the upstream HTTP call ran again (run {again})"
    view = window.bridge.model.execution(window.runs.current or "")
    assert view is not None and view.nodes["shape"].status is NodeStatus.COMPLETED


async def test_run_from_here_after_opening_a_past_run(
    window: MainWindow, server: tuple[str, list[str]]
) -> None:
    url, hits = server
    window.document.load(fetch_then_shape(url))
    first = await window.runs.run()
    await finished(window, first)
    assert first is not None
    window.runs._runs.clear()  # as after a restart of the app: only History knows it
    await window.runs.open_execution(first)
    window.scene.select_nodes(["shape"])
    started = await window.runs.run_from_here()  # type: ignore[misc]
    await finished(window, started)
    assert len(hits) == 1, "the upstream HTTP call ran again"


async def test_run_from_here_after_running_another_blueprint(
    window: MainWindow, server: tuple[str, list[str]]
) -> None:
    """The shown execution was another blueprint's: its outputs were offered for
    reuse, none matched, and every node ran again — the HTTP call included."""
    url, hits = server
    window.document.load(fetch_then_shape(url))
    await finished(window, await window.runs.run())
    window.document.load(
        Blueprint.model_validate(
            {"id": "other", "nodes": [{"id": "x", "type": "set", "params": {"value": 1}}]}
        )
    )
    await finished(window, await window.runs.run())
    window.document.load(fetch_then_shape(url))
    window.scene.select_nodes(["shape"])
    started = await window.runs.run_from_here()  # type: ignore[misc]
    await finished(window, started)
    assert len(hits) == 1, "the upstream HTTP call ran again"
