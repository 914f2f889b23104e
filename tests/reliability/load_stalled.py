"""A stalled event consumer: an SSE client that stops reading mid-run.

The client is a raw socket with a small receive buffer speaking HTTP/1.0 (so
the body is the bare SSE text, ended by the server closing). It reads the first
few kilobytes, then reads nothing while its execution emits ``events`` log
events. Meanwhile the server's RSS is sampled and other requests are timed; the
server must neither buffer the run for the stalled client nor stop answering.
When the run is over the client reads everything: the stream must still be
complete and gap-free (the server caught up from its record), and once read the
server must close the connection (it let the client go).
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from tests.reliability.load_mix import EMIT_LOGS, StreamCheck
from tests.reliability.load_server import (
    ServeProcess,
    established_connections,
    rss_mb,
    settled_rss,
)

_TERMINAL = frozenset({"completed", "failed", "cancelled", "interrupted"})


class SseSocket:
    """One SSE request on a raw socket; :meth:`read` parses what has arrived."""

    def __init__(self, url: str, path: str, token: str, rcvbuf: int = 4096) -> None:
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.request = (
            f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setblocking(False)
        self.check = StreamCheck()
        self.received = 0
        self.eof = False
        #: The server's ``event: end`` arrived (it sends it after the terminal event).
        self.ended = False
        self._head_done = False
        self._pending = b""

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, self.address)
        await loop.sock_sendall(self.sock, self.request)

    async def read(self, at_least: int | None = None) -> None:
        """Read until ``at_least`` more bytes arrived, or to the end when None."""
        loop = asyncio.get_running_loop()
        target = None if at_least is None else self.received + at_least
        while not self.eof and (target is None or self.received < target):
            chunk = await loop.sock_recv(self.sock, 1 << 16)
            if not chunk:
                self.eof = True
                break
            self.received += len(chunk)
            self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        if not self._head_done:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if not sep:
                self._pending = data
                return
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise AssertionError(f"SSE request answered {head[:80]!r}")
            self._head_done, data = True, rest
        *messages, self._pending = data.split(b"\n\n")
        for message in messages:
            lines = message.split(b"\n")
            if b"event: end" in lines:
                self.ended = True
            elif any(line.startswith(b"event: ") for line in lines):
                raise AssertionError(f"unexpected SSE message {message[:200]!r}")
            for line in lines:
                if line.startswith(b"data: ") and not self.ended:
                    event = orjson.loads(line[6:])
                    status = event["status"]
                    terminal = event["kind"] == "execution" and status in _TERMINAL
                    self.check.add(event["seq"], event["kind"], status, terminal)

    def close(self) -> None:
        self.sock.close()


async def _run_and_watch(
    client: httpx.AsyncClient, pid: int, execution_id: str, timeout: float
) -> dict[str, Any]:
    """Poll the execution and the health route until the run ends; time each answer."""
    checks = failures = 0
    worst = peak = 0.0
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        for path in ("/v1/health", f"/v1/executions/{execution_id}"):
            began = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok, response = False, None
            worst = max(worst, time.perf_counter() - began)
            checks, failures = checks + 1, failures + (not ok)
            if ok and response is not None and path.endswith(execution_id):
                status = response.json()["status"]
        peak = max(peak, rss_mb(pid))
        if status in _TERMINAL:
            break
        await asyncio.sleep(0.1)
    return {
        "status": status,
        "requests": checks,
        "request_failures": failures,
        "request_max_ms": round(worst * 1000, 1),
        "peak": peak,
    }


async def _start(client: httpx.AsyncClient, count: int) -> str:
    body = {"blueprint": EMIT_LOGS, "inputs": {"count": count}}
    response = await client.post("/v1/executions", json=body)
    response.raise_for_status()
    return str(response.json()["execution_id"])


async def stalled_sse(
    events: int = 300_000,
    home: Path | None = None,
    *,
    read_bytes: int = 16_384,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """A run of ``events`` log events followed by a client that stalls (module docs)."""
    async with AsyncExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-sse-")))
        server = await stack.enter_async_context(ServeProcess(home / "home", home / "work"))
        port = urlsplit(server.url).port or 0
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=30.0)
        )
        # Warm-up: the same path, read promptly, so imports and caches are not counted.
        warm_path = f"/v1/executions/{await _start(client, 20_000)}/events"
        warm = SseSocket(server.url, warm_path, server.token)
        await warm.connect()
        await warm.read()
        warm.close()
        before = await settled_rss(server.pid)
        connections = established_connections(server.pid, port)

        began = time.perf_counter()
        eid = await _start(client, events)
        stalled = SseSocket(server.url, f"/v1/executions/{eid}/events", server.token)
        stack.callback(stalled.close)
        await stalled.connect()
        await stalled.read(read_bytes)
        watched = await _run_and_watch(client, server.pid, eid, timeout)
        run_s = time.perf_counter() - began
        stalled_rss = await settled_rss(server.pid)

        await asyncio.wait_for(stalled.read(), timeout)
        last_seq = int((await client.get(f"/v1/executions/{eid}")).json()["last_seq"])
        stalled.close()
        released = False
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if established_connections(server.pid, port) <= connections:
                released = True
                break
            await asyncio.sleep(0.05)
        after = await settled_rss(server.pid)
        peak = max(float(watched.pop("peak")), stalled_rss)
        figures: dict[str, Any] = {
            "events": events,
            "run_s": round(run_s, 2),
            **watched,
            "rss_before_mb": round(before, 1),
            "rss_peak_mb": round(peak, 1),
            "rss_stalled_mb": round(stalled_rss, 1),
            "rss_after_mb": round(after, 1),
            "growth_mb": round(peak - before, 1),
            "drained_events": len(stalled.check.seqs),
            "last_seq": last_seq,
            "gaps": stalled.check.gaps,
            "complete": stalled.check.complete and len(stalled.check.seqs) == last_seq,
            "released": released,
        }
        return figures
    raise AssertionError("unreachable")  # pragma: no cover
