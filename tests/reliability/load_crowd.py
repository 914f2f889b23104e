"""A crowd of stalled event consumers: many SSE clients of one run that never read.

Issue 11 saw 200 such clients take ``conductor serve`` from 85 MB to 1.12 GB, its
health check to 22 s, and a client afterwards drain 15,360 of 200,005 events in
65 s. Here a real ``conductor serve`` process runs an execution of ``events`` log
events while ``clients`` raw sockets (a 4 KiB receive buffer, HTTP/1.0, so the body
is the bare SSE text) hold its event stream open and read nothing. Meanwhile the
server's ``VmRSS`` is sampled and ``/v1/health`` timed. Then every client reads:
one the server dropped (over its event-stream budget) finds its connection cut,
reconnects with ``Last-Event-ID`` and goes on until ``event: end`` — and must have
seen every seq from 1 to the last, once, in order.
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
import psutil

from tests.reliability.load_mix import EMIT_LOGS
from tests.reliability.load_server import ServeProcess, settled_rss, vm_rss_mb

_TERMINAL = frozenset({"completed", "failed", "cancelled", "interrupted"})


class CrowdClient:
    """One SSE client of the crowd: a raw socket per connection, ids checked as they come.

    Only the ``id:`` lines are parsed (every message carries its seq there), so that
    the test's own process keeps up with hundreds of streams.
    """

    def __init__(
        self, url: str, path: str, token: str, rcvbuf: int = 4096, *, by_query: bool = False
    ) -> None:
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.netloc = parts.netloc
        self.path = path
        self.token = token
        self.rcvbuf = rcvbuf
        #: Resume with ``?after=`` instead of ``Last-Event-ID``.
        self.by_query = by_query
        #: The last seq seen; the next must be one more.
        self.last = 0
        self.gaps = 0
        self.ended = False
        self.connections = 0
        self.sock: socket.socket | None = None
        self._pending = b""
        self._head = b""

    async def connect(self) -> None:
        """Open the stream after :attr:`last` (its ``Last-Event-ID``, or ``?after=``)."""
        self.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.setblocking(False)
        path, resume = self.path, f"Last-Event-ID: {self.last}\r\n"
        if self.by_query:
            path, resume = f"{path}?after={self.last}", ""
        request = (
            f"GET {path} HTTP/1.0\r\nHost: {self.netloc}\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {self.token}\r\n{resume}\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, self.address)
        await loop.sock_sendall(sock, request)
        self.sock, self._pending, self._head = sock, b"", b""
        self.connections += 1

    async def drain(self, max_connections: int = 1000) -> None:
        """Read to the end of the stream, reconnecting whenever the server cut it."""
        loop = asyncio.get_running_loop()
        while not self.ended:
            if self.sock is None:
                if self.connections >= max_connections:
                    raise AssertionError(f"{self.connections} connections and not ended")
                await self.connect()
            assert self.sock is not None
            try:
                chunk = await loop.sock_recv(self.sock, 1 << 16)
            except ConnectionError:
                chunk = b""
            if not chunk:
                self.close()  # dropped (or ended without saying so): resume
                continue
            self._feed(chunk)
        self.close()

    def _feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        if not self._head:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if not sep:
                self._pending = data
                return
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise AssertionError(f"SSE request answered {head[:80]!r}")
            self._head, data = head + sep, rest
        *messages, self._pending = data.split(b"\n\n")
        for message in messages:
            if message.startswith(b"id: "):
                seq = int(message[4 : message.index(b"\n")])
                if seq != self.last + 1:
                    self.gaps += 1
                self.last = seq
            elif message.startswith(b"event: end"):
                self.ended = True
            elif message.startswith(b"event: "):
                raise AssertionError(f"unexpected SSE message {message[:200]!r}")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def _watch(
    client: httpx.AsyncClient, pid: int, execution_id: str, timeout: float
) -> dict[str, Any]:
    """Time ``/v1/health`` and sample the RSS until the run ends, then a while more."""
    worst = peak = 0.0
    checks = failures = 0
    status = "unknown"
    ended_at: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            ok = (await client.get("/v1/health")).status_code == 200
        except httpx.HTTPError:
            ok = False
        worst = max(worst, time.perf_counter() - began)
        checks, failures = checks + 1, failures + (not ok)
        peak = max(peak, vm_rss_mb(pid))
        if ended_at is None:
            response = await client.get(f"/v1/executions/{execution_id}")
            status = str(response.json()["status"])
            if status in _TERMINAL:
                ended_at = time.monotonic()
        elif time.monotonic() - ended_at > 2.0:  # the streams caught up with the end
            break
        await asyncio.sleep(0.2)
    return {
        "status": status,
        "health_checks": checks,
        "health_failures": failures,
        "health_max_ms": round(worst * 1000, 1),
        "peak": peak,
    }


async def stalled_crowd(
    clients: int = 200,
    events: int = 200_000,
    home: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    serve_args: tuple[str, ...] = (),
    timeout: float = 600.0,
) -> dict[str, Any]:
    """``clients`` stalled SSE clients of one run of ``events`` events (module docs);
    ``env`` and ``serve_args`` go to the ``conductor serve`` process."""
    async with AsyncExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-crowd-")))
        server = await stack.enter_async_context(
            ServeProcess(home / "home", home / "work", env=env, serve_args=serve_args)
        )
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=30.0)
        )

        async def start(count: int) -> str:
            body = {"blueprint": EMIT_LOGS, "inputs": {"count": count}}
            response = await client.post("/v1/executions", json=body)
            response.raise_for_status()
            return str(response.json()["execution_id"])

        # Warm-up: a stream read promptly, so imports and caches are not counted.
        warm = CrowdClient(server.url, f"/v1/executions/{await start(5_000)}/events", server.token)
        await asyncio.wait_for(warm.drain(), timeout)
        await settled_rss(server.pid)
        idle = vm_rss_mb(server.pid)

        eid = await start(events)
        crowd = [
            CrowdClient(server.url, f"/v1/executions/{eid}/events", server.token)
            for _ in range(clients)
        ]
        for member in crowd:
            stack.callback(member.close)
            await member.connect()
        watched = await _watch(client, server.pid, eid, timeout)
        stalled = vm_rss_mb(server.pid)
        peak = max(float(watched.pop("peak")), stalled)

        began, cpu = time.perf_counter(), _cpu_seconds(server.pid)
        await asyncio.wait_for(asyncio.gather(*(m.drain() for m in crowd)), timeout)
        drain_s = time.perf_counter() - began
        drain_cpu = _cpu_seconds(server.pid) - cpu
        last_seq = int((await client.get(f"/v1/executions/{eid}")).json()["last_seq"])
        return {
            "clients": clients,
            "events": events,
            **watched,
            "rss_idle_mb": round(idle, 1),
            "rss_peak_mb": round(peak, 1),
            "rss_stalled_mb": round(stalled, 1),
            "rss_ratio": round(peak / idle, 2),
            "last_seq": last_seq,
            "dropped_clients": sum(m.connections > 1 for m in crowd),
            "reconnections": sum(m.connections - 1 for m in crowd),
            "drain_s": round(drain_s, 1),
            "drain_server_cpu_s": round(drain_cpu, 1),
            "clients_complete": sum(m.ended and m.last == last_seq and not m.gaps for m in crowd),
            "gaps": sum(m.gaps for m in crowd),
        }
    raise AssertionError("unreachable")  # pragma: no cover
