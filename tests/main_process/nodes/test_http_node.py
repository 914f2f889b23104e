"""http.request against a real HTTP server on 127.0.0.1 (a thread in this process)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.errors import NodeFailedError

if TYPE_CHECKING:
    from tests.main_process.nodes.conftest import RunNode


class _Handler(BaseHTTPRequestHandler):
    """Routes: /json, /text, /empty, /bad-json, /status/<code>, /echo, /hang."""

    release: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/json":
            self._send(200, b'{"items": [1, 2]}', "application/json; charset=utf-8")
        elif url.path == "/problem":
            self._send(200, b'{"title": "x"}', "application/problem+json")
        elif url.path == "/text":
            self._send(200, "héllo\n".encode(), "text/plain; charset=utf-8")
        elif url.path == "/binary":
            self._send(200, b"\x89PNG\r\n\x1a\n\xff\xfe", "application/octet-stream")
        elif url.path == "/bad-json":
            self._send(200, b"{not json", "application/json")
        elif url.path == "/empty":
            self.send_response(204)
            self.end_headers()
        elif url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
            self._send(status, b'{"detail": "it broke"}', "application/json")
        elif url.path == "/echo":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else None
            echo = {
                "method": self.command,
                "query": parse_qs(url.query),
                "header": self.headers.get("X-Test"),
                "content_type": self.headers.get("Content-Type"),
                "body": json.loads(body) if body else None,
            }
            self._send(200, json.dumps(echo).encode(), "application/json")
        elif url.path.startswith("/big/"):
            # /big/<n>: n bytes, with Content-Length; /big/<n>?unsized: no length, until close.
            size = int(url.path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            if url.query != "unsized":
                self.send_header("Content-Length", str(size))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            block = b"x" * 65536
            sent = 0
            try:
                while sent < size:
                    self.wfile.write(block[: size - sent])
                    sent += min(len(block), size - sent)
            except OSError:
                pass  # the client stopped reading: what the cap is for
            self.close_connection = True
        elif url.path == "/hang":
            self.release.wait(30)
            self._send(200, b"late", "text/plain")
        else:
            self._send(404, b"no such route", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _route


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A port that is bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/items"


async def test_json_body_is_parsed(run_node: RunNode, server_url: str) -> None:
    assert await run_node("http.request", {"url": f"{server_url}/json"}) == {"items": [1, 2]}


async def test_json_suffix_media_type_is_parsed(run_node: RunNode, server_url: str) -> None:
    assert await run_node("http.request", {"url": f"{server_url}/problem"}) == {"title": "x"}


async def test_text_body_is_text(run_node: RunNode, server_url: str) -> None:
    assert await run_node("http.request", {"url": f"{server_url}/text"}) == "héllo\n"


async def test_invalid_json_falls_back_to_text(run_node: RunNode, server_url: str) -> None:
    assert await run_node("http.request", {"url": f"{server_url}/bad-json"}) == "{not json"


async def test_a_body_that_is_not_text_fails_the_node_naming_the_byte(
    run_node: RunNode, server_url: str
) -> None:
    """Never a silent U+FFFD (issue 11): bytes are a failure, not replaced text."""
    with pytest.raises(NodeFailedError) as failed:
        await run_node("http.request", {"url": f"{server_url}/binary"})
    assert "not utf-8 text (at byte 0)" in failed.value.message.lower()
    assert "application/octet-stream" in failed.value.message


async def test_empty_body_is_none(run_node: RunNode, server_url: str) -> None:
    assert await run_node("http.request", {"url": f"{server_url}/empty"}) is None


async def test_method_headers_query_and_json_are_sent(run_node: RunNode, server_url: str) -> None:
    params = {
        "url": f"{server_url}/echo",
        "method": "post",
        "headers": {"X-Test": "yes"},
        "params": {"q": "a b", "n": 2, "flag": True, "many": [1, 2]},
        "json": {"name": "x"},
    }
    assert await run_node("http.request", params) == {
        "method": "POST",
        "query": {"q": ["a b"], "n": ["2"], "flag": ["true"], "many": ["1", "2"]},
        "header": "yes",
        "content_type": "application/json",
        "body": {"name": "x"},
    }


@pytest.mark.parametrize("status", [404, 500])
async def test_error_status_fails_the_node(run_node: RunNode, server_url: str, status: int) -> None:
    url = f"{server_url}/status/{status}"
    with pytest.raises(NodeFailedError) as caught:
        await run_node("http.request", {"url": url, "method": "DELETE"})
    message = caught.value.message
    assert f"DELETE {url}" in message
    assert f"HTTP {status}" in message
    assert "it broke" in message
    assert caught.value.where == "params.url"


async def test_error_status_is_output_when_not_raising(run_node: RunNode, server_url: str) -> None:
    params = {"url": f"{server_url}/status/404", "raise_for_status": False}
    assert await run_node("http.request", params) == {"detail": "it broke"}


async def test_dead_endpoint_names_the_url(run_node: RunNode, dead_url: str) -> None:
    with pytest.raises(NodeFailedError, match="could not connect") as caught:
        await run_node("http.request", {"url": dead_url})
    assert dead_url in caught.value.message


async def test_timeout_names_request_and_limit(run_node: RunNode, server_url: str) -> None:
    url = f"{server_url}/hang"
    with pytest.raises(NodeFailedError, match=r"timed out after 0\.2 s") as caught:
        await run_node("http.request", {"url": url, "timeout": 0.2})
    assert f"GET {url}" in caught.value.message


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/x", "http://"])
async def test_bad_url_fails_the_node(run_node: RunNode, url: str) -> None:
    with pytest.raises(NodeFailedError, match="invalid URL") as caught:
        await run_node("http.request", {"url": url})
    assert caught.value.where == "params.url"


@pytest.mark.parametrize("query", ["", "?unsized"])
async def test_a_body_over_the_limit_fails_the_node(
    run_node: RunNode, server_url: str, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_MAX_HTTP_BODY_BYTES", "1000000")
    ok = await run_node("http.request", {"url": f"{server_url}/big/1000000{query}"})
    assert len(ok) == 1_000_000
    with pytest.raises(NodeFailedError) as info:
        await run_node("http.request", {"url": f"{server_url}/big/300000000{query}"})
    assert "larger than 1,000,000 bytes" in str(info.value)
    assert "CONDUCTOR_MAX_HTTP_BODY_BYTES" in str(info.value)
