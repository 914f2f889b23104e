"""Load: hundreds of concurrent executions through ``conductor serve`` and the pipe.

Importable without pytest, so ``bench/reliability.py`` and the tests share it.
Each public coroutine runs a scenario against a real server process and returns
a dict of figures; judging them is the caller's business:

* :func:`load_http` — ``n`` executions started at once over HTTP, each followed
  by its own SSE stream, while ``/v1/health`` is polled every 50 ms from a separate
  process (:mod:`tests.reliability.load_health`);
* :func:`load_ipc` — the same burst through the pipe to a spawned worker,
  with heartbeats as the health check;
* :func:`~tests.reliability.load_stalled.stalled_sse` — an SSE client that stops
  reading while its execution emits hundreds of thousands of events.

A burst is checked execution by execution: it reached a terminal state, its
status is the one its job expects (see :mod:`tests.reliability.load_mix`), its
stream ended with the terminal event and its seqs were exactly 1..N, N being the
``last_seq`` the server reports. Memory is the worker's or server's RSS: after a
warm-up burst, before the measured burst, its peak, and once settled after it.
The warm-up is two bursts of the same size by default: imports, caches, SQLite's
page cache and the allocator's arenas grow to a burst's working size and then stay
there (the pipe worker, measured: +6 MB from the first burst of 200 to the second,
then flat within 1 MB over the next six), so a smaller warm-up would count that
one-off growth as a leak. A real leak shows as growth from one burst to the next.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol, cast

import httpx
import orjson

from app import create_conductor
from tests.reliability.load_health import ExternalHealthProbe
from tests.reliability.load_mix import LONG_NODE, Job, StreamCheck, items_server, make_jobs
from tests.reliability.load_server import ServeProcess, rss_mb, settled_rss
from tests.reliability.load_stalled import stalled_sse

__all__ = ["load_http", "load_ipc", "stalled_sse"]

_TERMINAL = frozenset({"completed", "failed", "cancelled", "interrupted"})
#: Seq, kind, node id, status of one event.
EventTuple = tuple[int, str, str | None, str | None]


class Ops(Protocol):
    """What a burst needs from a transport."""

    async def start(self, job: Job) -> str: ...

    def events(self, execution_id: str) -> AsyncIterator[EventTuple]: ...

    async def cancel(self, execution_id: str) -> bool: ...

    async def status(self, execution_id: str) -> tuple[str, int]: ...


class HttpOps:
    """Raw HTTP against ``conductor serve``: the server's own SSE, no client reconnects."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def start(self, job: Job) -> str:
        response = await self.client.post("/v1/executions", json=job.target())
        response.raise_for_status()
        return str(response.json()["execution_id"])

    async def events(self, execution_id: str) -> AsyncIterator[EventTuple]:
        headers = {"Accept": "text/event-stream"}
        path = f"/v1/executions/{execution_id}/events"
        async with self.client.stream("GET", path, headers=headers) as response:
            response.raise_for_status()
            event_id: int | None = None
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: ") and event_id is not None:
                    data = orjson.loads(line[6:])
                    if data["seq"] != event_id:
                        raise AssertionError(f"id {event_id} carries seq {data['seq']}")
                    yield data["seq"], data["kind"], data["node_id"], data["status"]
                    event_id = None
                elif line == "event: end":
                    return  # the server's "nothing more" (after the terminal event)
                elif line.startswith("event: "):
                    raise AssertionError(f"unexpected SSE message {line!r}")

    async def cancel(self, execution_id: str) -> bool:
        response = await self.client.post(f"/v1/executions/{execution_id}/cancel")
        response.raise_for_status()
        return bool(response.json()["cancelled"])

    async def status(self, execution_id: str) -> tuple[str, int]:
        response = await self.client.get(f"/v1/executions/{execution_id}")
        response.raise_for_status()
        body = response.json()
        return str(body["status"]), int(body["last_seq"])


class ConductorOps:
    """The unified API (here: the pipe transport)."""

    def __init__(self, conductor: Any) -> None:
        self.c = conductor

    async def start(self, job: Job) -> str:
        return cast(str, await self.c.start(**job.target()))

    async def events(self, execution_id: str) -> AsyncIterator[EventTuple]:
        async for event in self.c.events(execution_id):
            yield event.seq, event.kind, event.node_id, event.status

    async def cancel(self, execution_id: str) -> bool:
        return cast(bool, await self.c.cancel(execution_id))

    async def status(self, execution_id: str) -> tuple[str, int]:
        result = await self.c.get_execution(execution_id)
        return str(result.status), int(result.last_seq)


class HealthPoller:
    """Asks ``probe`` every ``interval`` seconds and samples the RSS of ``pid`` meanwhile."""

    def __init__(
        self, probe: Callable[[], Awaitable[bool]], pid: int, interval: float = 0.05
    ) -> None:
        self.probe, self.pid, self.interval = probe, pid, interval
        self.checks = self.failures = 0
        self.max_ms = 0.0
        self.rss_peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            try:
                ok = await asyncio.wait_for(self.probe(), 10.0)
            except Exception:
                ok = False
            self.max_ms = max(self.max_ms, (time.perf_counter() - began) * 1000)
            self.checks += 1
            self.failures += not ok
            self.rss_peak_mb = max(self.rss_peak_mb, rss_mb(self.pid))
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> HealthPoller:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def figures(self) -> dict[str, Any]:
        return {
            "health_checks": self.checks,
            "health_failures": self.failures,
            "health_max_ms": round(self.max_ms, 1),
        }


async def _one(ops: Ops, job: Job, results: dict[int, dict[str, Any]]) -> None:
    """Start one job, follow its stream to the end, cancel it when its job says so."""
    record: dict[str, Any] = {"label": job.label, "expect": job.expect}
    results[job.index] = record
    eid = await ops.start(job)
    record["execution_id"] = eid
    cancels: list[asyncio.Task[bool]] = []
    if job.cancel == "at_once":
        cancels.append(asyncio.ensure_future(ops.cancel(eid)))
    check = StreamCheck()
    async for seq, kind, node_id, status in ops.events(eid):
        terminal = kind == "execution" and status in _TERMINAL
        check.add(seq, kind, status, terminal)
        long_node_runs = node_id == LONG_NODE and status == "running"
        if job.cancel == "running" and not cancels and long_node_runs:
            cancels.append(asyncio.ensure_future(ops.cancel(eid)))
    await asyncio.gather(*cancels)
    status, last_seq = await ops.status(eid)
    record.update(
        status=status,
        terminal=status in _TERMINAL,
        stream_complete=check.complete and len(check.seqs) == last_seq,
        stream_status=check.terminal_status,
        gaps=check.gaps,
        events=len(check.seqs),
    )


async def run_burst(ops: Ops, jobs: list[Job], timeout: float) -> dict[str, Any]:
    """Run ``jobs`` at once; the figures of how they ended (see the module docs)."""
    results: dict[int, dict[str, Any]] = {}
    began = time.perf_counter()
    tasks = [asyncio.ensure_future(_one(ops, job, results)) for job in jobs]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    errors = [
        f"{jobs[tasks.index(t)].label}: {t.exception()!r}"
        for t in done
        if t.exception() is not None
    ]
    records = [results.get(job.index, {}) for job in jobs]
    by_status = Counter(str(r.get("status", "unknown")) for r in records)
    wrong = [
        f"{r.get('label')}: {r.get('status')} (stream {r.get('stream_status')}), "
        f"expected {r.get('expect')}"
        for r in records
        if "status" in r and (r["status"] != r["expect"] or r["stream_status"] != r["status"])
    ]
    return {
        "executions": len(jobs),
        "terminal": sum(1 for r in records if r.get("terminal")),
        "stuck": len(pending),
        "incomplete_streams": sum(1 for r in records if not r.get("stream_complete")),
        "gaps": sum(int(r.get("gaps", 0)) for r in records),
        "events": sum(int(r.get("events", 0)) for r in records),
        "wrong_status": len(wrong),
        "by_status": dict(sorted(by_status.items())),
        "errors": len(errors),
        "error_samples": (errors + wrong)[:5],
        "burst_s": round(time.perf_counter() - began, 2),
    }


async def _measured(
    ops: Ops,
    pid: int,
    health: Callable[[], HealthPoller | ExternalHealthProbe],
    n: int,
    warmup: int,
    items_url: str,
    timeout: float,
) -> dict[str, Any]:
    """Warm up, then the measured burst under health polling, with RSS before/peak/after."""
    for first in range(0, warmup, n):
        await run_burst(ops, make_jobs(min(n, warmup - first), items_url), timeout)
    before = await settled_rss(pid)
    poller = health()
    async with poller:
        figures = await run_burst(ops, make_jobs(n, items_url), timeout)
    after = await settled_rss(pid)
    figures.update(poller.figures())
    figures.update(
        rss_before_mb=round(before, 1),
        rss_peak_mb=round(max(poller.rss_peak_mb, after), 1),
        rss_after_mb=round(after, 1),
        rss_ratio=round(after / before, 3),
    )
    return figures


def _warmup(n: int, warmup: int | None) -> int:
    return 2 * n if warmup is None else warmup


async def load_http(
    n: int = 200,
    home: Path | None = None,
    *,
    warmup: int | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """``n`` executions at once through a real ``conductor serve`` (see the module docs).

    ``warmup`` executions (default ``2 * n``, in bursts of ``n``) run first, unmeasured.
    """
    async with AsyncExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-http-")))
        server = await stack.enter_async_context(ServeProcess(home / "home", home / "work"))
        items_url = stack.enter_context(items_server())
        # No keep-alive: uvicorn closes an idle connection after 5 s, and a request
        # that picks one from the pool at that moment fails with ReadError('') (httpx
        # does not retry). That race is the client's, not the server's, so it is
        # kept out of the figures; loopback connects are cheap.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=server.url,
                headers=server.headers,
                limits=limits,
                timeout=httpx.Timeout(60.0, read=None),
            )
        )
        figures = await _measured(
            HttpOps(client),
            server.pid,
            lambda: ExternalHealthProbe(server.url, server.pid),
            n,
            _warmup(n, warmup),
            items_url,
            timeout,
        )
        figures["transport"] = "http"
        figures["server_exit_code"] = await server.stop()
        return figures
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the stack swallows nothing)


async def load_ipc(
    n: int = 200,
    home: Path | None = None,
    *,
    warmup: int | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """``n`` executions at once through the pipe to a spawned worker (see the module docs)."""
    async with AsyncExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-ipc-")))
        workdir = home / "work"
        workdir.mkdir(parents=True, exist_ok=True)
        items_url = stack.enter_context(items_server())
        conductor = create_conductor("ipc", home=home / "home", base_dir=workdir)
        stack.push_async_callback(conductor.close)
        transport = cast(Any, conductor.transport)
        await transport.ping()
        pid = int(transport.process.pid)

        async def probe() -> bool:
            await transport.ping()
            return True

        figures = await _measured(
            ConductorOps(conductor),
            pid,
            lambda: HealthPoller(probe, pid),
            n,
            _warmup(n, warmup),
            items_url,
            timeout,
        )
        figures["transport"] = "ipc"
        return figures
    raise AssertionError("unreachable")  # pragma: no cover
