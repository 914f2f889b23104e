"""A real uvicorn server for the HTTP tests: started on a free loopback port in the
test's own loop, waited for by condition, and stopped with its engine left to the test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from app import Conductor, create_conductor
from main_process.engine.engine import Engine
from main_process.http.server import bind, create_app, server_config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SSE = {**AUTH, "Accept": "text/event-stream"}


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a condition on the loop (the server runs on this same loop)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)


@asynccontextmanager
async def open_conductor(transport: str, home: Path, base_dir: Path) -> AsyncIterator[Conductor]:
    """A conductor over ``transport`` on ``home``: in-process, a spawned worker over a
    pipe, or a real HTTP server on 127.0.0.1 for an engine of its own."""
    if transport in ("direct", "ipc"):
        c = create_conductor(transport, home=home, base_dir=base_dir, plugins=False)
        try:
            yield c
        finally:
            await c.close()
        return
    engine = Engine(home, base_dir=base_dir, plugins=False)
    try:
        async with running_server(engine) as url:
            c = create_conductor("http", api_url=url, token=TOKEN)
            try:
                yield c
            finally:
                await c.close()
    finally:
        await engine.close()


@asynccontextmanager
async def running_server(engine: Engine, token: str = TOKEN, **options: Any) -> AsyncIterator[str]:
    """A real uvicorn server for ``engine`` on a free port of this loop; yields its URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(server_config(create_app(engine, token, **options)))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started or task.done())
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def chain(n: int = 3, blueprint_id: str = "chain") -> dict[str, Any]:
    return {
        "id": blueprint_id,
        "nodes": [{"id": f"n{i}", "type": "set", "params": {"value": {"i": i}}} for i in range(n)],
    }


def slow(seconds: float = 30) -> dict[str, Any]:
    return {
        "id": "slow",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": 1}},
            {"id": "wait", "type": "delay", "params": {"seconds": seconds}},
        ],
    }


def assert_error(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert {"type", "message", "where"} <= set(error)
    assert error["type"] == kind, error
    assert error["message"]
    return error


async def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    """Every event in an SSE response, checking that each ``id:`` equals its seq and
    that the stream ends with ``event: end``."""
    events: list[dict[str, Any]] = []
    async for kind, data in sse_messages(response):
        if kind == "end":
            return events
        assert kind == "message", (kind, data)
        events.append(data)
    raise AssertionError("the stream closed without event: end")


async def sse_messages(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """``(event type, parsed data)`` per SSE message; an event's ``id:`` is checked."""
    ident: str | None = None
    kind = "message"
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            ident = line[4:]
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
            if kind == "message":
                assert ident == str(data["seq"])
            yield kind, data
            kind = "message"


async def start(client: httpx.AsyncClient, **body: Any) -> str:
    response = await client.post("/v1/executions", json=body, headers=AUTH)
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


async def follow_until(
    client: httpx.AsyncClient, eid: str, done: Callable[[dict[str, Any]], bool]
) -> None:
    """Read the SSE stream until an event satisfies ``done`` (then drop the stream)."""
    async with client.stream("GET", f"/v1/executions/{eid}/events", headers=SSE) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: ") and done(json.loads(line[6:])):
                return
    raise AssertionError("the stream ended before the expected event")


# -- public routes, auth -------------------------------------------------------------
