"""The HTTP API against a real uvicorn server on a free loopback port and a real engine:
auth on every route, the error shape and status codes, limits, executions, Server-Sent
Events (gap-free, resumable, bounded), cancel, and a graceful SIGTERM shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.errors import ConfigError, TransportError
from app.paths import token_path
from app.states import ExecutionStatus, NodeStatus
from main_process.engine import Engine
from main_process.http_auth import (
    TokenSource,
    check_host,
    is_loopback,
    read_or_create_token_file,
    resolve_token,
)
from main_process.http_events import EventPump
from main_process.http_server import bind, create_app, serve_async, server_config

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


@pytest.fixture
async def engine(home: Path, tmp_path: Path) -> AsyncIterator[Engine]:
    eng = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        yield eng
    finally:
        await eng.close()


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_server(engine) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        yield http


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
    """Every event in an SSE response, checking that each ``id:`` equals its seq."""
    events: list[dict[str, Any]] = []
    ident: str | None = None
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            ident = line[4:]
        elif line.startswith("data: "):
            event = json.loads(line[6:])
            assert ident == str(event["seq"])
            events.append(event)
    return events


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


async def test_health_and_openapi_are_public(client: httpx.AsyncClient) -> None:
    health = await client.get("/v1/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/v1/health",
        "/v1/node-types",
        "/v1/blueprints",
        "/v1/blueprints/{blueprint_id}",
        "/v1/blueprints/validate",
        "/v1/executions",
        "/v1/executions/{execution_id}",
        "/v1/executions/{execution_id}/events",
        "/v1/executions/{execution_id}/cancel",
        "/v1/executions/{execution_id}/resume",
    ):
        assert path in paths, path
    assert paths["/v1/health"]["get"]["security"] == []
    assert paths["/v1/executions"]["post"]["security"] == [{"bearer": []}]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "ExecuteRequest" in schema["components"]["schemas"]


PROTECTED = [
    ("GET", "/v1/node-types"),
    ("GET", "/v1/blueprints"),
    ("GET", "/v1/blueprints/branch"),
    ("PUT", "/v1/blueprints/x"),
    ("DELETE", "/v1/blueprints/x"),
    ("POST", "/v1/blueprints/validate"),
    ("POST", "/v1/executions"),
    ("GET", "/v1/executions"),
    ("GET", "/v1/executions/abc"),
    ("GET", "/v1/executions/abc/events"),
    ("POST", "/v1/executions/abc/cancel"),
    ("POST", "/v1/executions/abc/resume"),
    ("GET", "/v1/no-such-route"),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN} extra", f"{TOKEN}"],
    ids=["missing", "wrong", "basic", "empty", "trailing", "no-scheme"],
)
async def test_every_protected_route_answers_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in PROTECTED:
        response = await client.request(method, path, headers=headers, json={})
        error = assert_error(response, 401, "TransportError")
        assert error["where"] == "Authorization"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_every_route_answers_with_the_right_token(client: httpx.AsyncClient) -> None:
    ok = {"Authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive
    assert (await client.get("/v1/node-types", headers=ok)).status_code == 200
    assert (await client.put("/v1/blueprints/mine", json=chain(2, "mine"), headers=ok)).json()[
        "source"
    ] == "user"
    assert "mine" in {b["id"] for b in (await client.get("/v1/blueprints", headers=ok)).json()}
    assert (await client.get("/v1/blueprints/mine", headers=ok)).json()["id"] == "mine"
    valid = await client.post("/v1/blueprints/validate", json=chain(), headers=ok)
    assert valid.json() == {"valid": True, "problems": []}
    eid = await start(client, blueprint=slow())
    await follow_until(client, eid, lambda e: e["node_id"] == "wait" and e["status"] == "running")
    assert (await client.get("/v1/executions", headers=ok)).json()[0]["execution_id"] == eid
    assert (await client.get(f"/v1/executions/{eid}", headers=ok)).json()["status"] == "running"
    events = await client.get(f"/v1/executions/{eid}/events", headers=ok)
    assert [e["seq"] for e in events.json()] == list(range(1, len(events.json()) + 1))
    cancel = await client.post(f"/v1/executions/{eid}/cancel", headers=ok)
    assert cancel.json() == {"cancelled": True}
    resumed = await client.post(f"/v1/executions/{eid}/resume", headers=ok)
    assert resumed.status_code == 202
    assert resumed.json()["execution_id"] == eid
    assert (await client.post(f"/v1/executions/{eid}/cancel", headers=ok)).json()["cancelled"]
    assert (await client.delete("/v1/blueprints/mine", headers=ok)).status_code == 204


# -- token and host ------------------------------------------------------------------


def test_token_file_is_created_0600_and_reused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONDUCTOR_TOKEN", raising=False)
    first = resolve_token(None, home)
    path = token_path(home)
    assert first.origin == "file"
    assert first.path == path
    assert not first.explicit
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.token) >= 40
    assert resolve_token(None, home).token == first.token
    monkeypatch.setenv("CONDUCTOR_TOKEN", "from-env")
    assert resolve_token(None, home) == TokenSource("from-env", "environment")
    assert resolve_token("given", home) == TokenSource("given", "argument")


def test_token_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("secret\n")
    path.chmod(0o644)
    assert read_or_create_token_file(path) == "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_non_loopback_host_needs_an_explicit_token() -> None:
    stored = TokenSource("t", "file", Path("token"))
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.9"):
        assert is_loopback(host)
        check_host(host, stored)
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        assert not is_loopback(host)
        with pytest.raises(ConfigError, match="refusing to listen"):
            check_host(host, stored)
        check_host(host, TokenSource("t", "environment"))
        check_host(host, TokenSource("t", "argument"))


async def test_serve_refuses_before_listening(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONDUCTOR_TOKEN", raising=False)
    lines: list[str] = []
    with pytest.raises(ConfigError, match="refusing"):
        await serve_async("0.0.0.0", 0, home, echo=lines.append)
    with pytest.raises(ConfigError, match="no-code-nodes"):
        await serve_async("127.0.0.1", 0, home, code_nodes=False, echo=lines.append)
    taken = bind("127.0.0.1", 0)
    try:
        with pytest.raises(TransportError, match="cannot listen"):
            await serve_async("127.0.0.1", taken.getsockname()[1], home, echo=lines.append)
    finally:
        taken.close()
    assert lines == []


# -- errors --------------------------------------------------------------------------


async def test_body_too_large_is_413(engine: Engine) -> None:
    async with (
        running_server(engine, max_body_bytes=1024) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        big = {"blueprint_id": "branch", "inputs": {"x": "y" * 2000}}
        error = assert_error(
            await http.post("/v1/executions", json=big, headers=AUTH), 413, "ConfigError"
        )
        assert error["where"] == "body"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b" " * 512

        streamed = await http.post("/v1/blueprints/validate", content=chunks(), headers=AUTH)
        assert_error(streamed, 413, "ConfigError")
        assert (await http.get("/v1/health")).status_code == 200


async def test_bad_json_is_400_and_bad_fields_are_422(client: httpx.AsyncClient) -> None:
    json_headers = {**AUTH, "Content-Type": "application/json"}
    for path in ("/v1/executions", "/v1/blueprints/validate", "/v1/blueprints/x"):
        method = "PUT" if path.endswith("/x") else "POST"
        response = await client.request(method, path, content=b"{nope", headers=json_headers)
        assert assert_error(response, 400, "ConfigError")["where"] == "body"
    text = await client.post(
        "/v1/blueprints/validate", content=b"hello", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert_error(text, 400, "ConfigError")
    bad_config = {"blueprint_id": "branch", "config": {"parallel": "sometimes"}}
    response = await client.post("/v1/executions", json=bad_config, headers=AUTH)
    assert assert_error(response, 422, "ConfigError")["where"] == "config.parallel"
    response = await client.post("/v1/executions", json={"blueprint_id": "b", "x": 1}, headers=AUTH)
    assert assert_error(response, 422, "ConfigError")["where"] == "x"
    response = await client.post("/v1/executions", json={"inputs": {}}, headers=AUTH)
    assert assert_error(response, 422, "ConfigError")["where"] == "blueprint"
    response = await client.get("/v1/executions?limit=0", headers=AUTH)
    assert assert_error(response, 422, "ConfigError")["where"] == "query.limit"
    response = await client.get("/v1/executions?status=sleeping", headers=AUTH)
    assert assert_error(response, 422, "ConfigError")["where"] == "query.status"
    response = await client.get("/v1/executions/x/events", headers={**SSE, "Last-Event-ID": "z"})
    assert assert_error(response, 422, "ConfigError")["where"] == "Last-Event-ID"
    response = await client.put("/v1/blueprints/one", json=chain(1, "two"), headers=AUTH)
    assert assert_error(response, 422, "ConfigError")["where"] == "id"


async def test_unknown_blueprints_and_executions_are_404(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/v1/blueprints/nope"),
        ("DELETE", "/v1/blueprints/nope"),
        ("GET", "/v1/blueprints/..%2Fetc"),
    ]:
        response = await client.request(method, path, headers=AUTH)
        assert_error(response, 404, "BlueprintNotFoundError")
    response = await client.post("/v1/executions", json={"blueprint_id": "nope"}, headers=AUTH)
    assert assert_error(response, 404, "BlueprintNotFoundError")["where"] == "blueprint_id"
    for method, path, headers in [
        ("GET", "/v1/executions/nope", AUTH),
        ("GET", "/v1/executions/nope/events", AUTH),
        ("GET", "/v1/executions/nope/events", SSE),
        ("POST", "/v1/executions/nope/cancel", AUTH),
        ("POST", "/v1/executions/nope/resume", AUTH),
    ]:
        response = await client.request(method, path, headers=headers)
        assert_error(response, 404, "ExecutionNotFoundError")
    assert_error(await client.get("/v1/nothing", headers=AUTH), 404, "TransportError")
    assert_error(await client.delete("/v1/executions", headers=AUTH), 405, "TransportError")


async def test_invalid_blueprints_are_422_with_every_problem(client: httpx.AsyncClient) -> None:
    bad = {
        "id": "bad",
        "nodes": [{"id": "a", "type": "no.such.type"}, {"id": "a", "type": "set"}],
        "edges": [{"source": "a", "target": "ghost"}],
    }
    for response in (
        await client.put("/v1/blueprints/bad", json=bad, headers=AUTH),
        await client.post("/v1/executions", json={"blueprint": bad}, headers=AUTH),
    ):
        error = assert_error(response, 422, "BlueprintError")
        places = {p["where"] for p in error["problems"]}
        assert {"nodes[0].type", "nodes[1].id", "edges[0].target"} <= places
    shapeless = {"blueprint": {"id": "s", "nodes": "not a list"}}
    error = assert_error(
        await client.post("/v1/executions", json=shapeless, headers=AUTH), 422, "BlueprintError"
    )
    assert error["problems"][0]["where"] == "nodes"
    checked = (await client.post("/v1/blueprints/validate", json=bad, headers=AUTH)).json()
    assert checked["valid"] is False
    assert {p["where"] for p in checked["problems"]} == places


async def test_resume_of_a_completed_execution_is_409(client: httpx.AsyncClient) -> None:
    done = await client.post(
        "/v1/executions", json={"blueprint": chain(), "wait": True}, headers=AUTH
    )
    assert done.status_code == 200
    eid = done.json()["execution_id"]
    assert_error(
        await client.post(f"/v1/executions/{eid}/resume", headers=AUTH), 409, "ResumeError"
    )


async def test_unexpected_exceptions_are_typed_500(
    engine: Engine, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> None:
        raise RuntimeError("the registry caught fire")

    monkeypatch.setattr(engine, "node_types", broken)
    error = assert_error(await client.get("/v1/node-types", headers=AUTH), 500, "ConductorError")
    assert "RuntimeError" in error["message"]
    assert error["where"] == "/v1/node-types"
    assert (await client.get("/v1/health")).status_code == 200


# -- executions and events -----------------------------------------------------------


async def test_execute_with_wait_returns_the_result(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    body = {"blueprint_id": "branch", "inputs": {"amount": 50}, "wait": True}
    response = await client.post("/v1/executions", json=body, headers=AUTH)
    assert response.status_code == 200
    result = response.json()
    assert result["success"] is True
    assert result["outputs"] == {"decision": "approved", "amount": 50}
    assert result["nodes"]["review"]["status"] == NodeStatus.SKIPPED
    stored = await engine.get_execution(result["execution_id"])
    assert stored.model_dump(mode="json") == result
    failing = {
        "blueprint": {
            "id": "f",
            "nodes": [
                {
                    "id": "boom",
                    "type": "python.function",
                    "params": {"function": "tests.node_functions:boom"},
                }
            ],
        },
        "wait": True,
    }
    failed = (await client.post("/v1/executions", json=failing, headers=AUTH)).json()
    assert failed["success"] is False
    assert failed["status"] == ExecutionStatus.FAILED
    assert failed["nodes"]["boom"]["error"]["type"] == "ValueError"


async def test_sse_stream_is_gap_free_ends_at_terminal_and_resumes(
    client: httpx.AsyncClient,
) -> None:
    eid = await start(client, blueprint=chain(8))
    async with client.stream("GET", f"/v1/executions/{eid}/events", headers=SSE) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = await sse_events(response)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))
    assert events[-1]["kind"] == "execution"
    assert events[-1]["status"] == ExecutionStatus.COMPLETED
    listed = (await client.get(f"/v1/executions/{eid}/events", headers=AUTH)).json()
    assert listed == events
    after = (await client.get(f"/v1/executions/{eid}/events?after=5", headers=AUTH)).json()
    assert [e["seq"] for e in after] == seqs[5:]
    for url, headers in [
        (f"/v1/executions/{eid}/events?after=5", SSE),
        (f"/v1/executions/{eid}/events", {**SSE, "Last-Event-ID": "5"}),
    ]:
        async with client.stream("GET", url, headers=headers) as response:
            assert [e["seq"] for e in await sse_events(response)] == seqs[5:]
    drained = await client.get(
        f"/v1/executions/{eid}/events", headers={**SSE, "Last-Event-ID": str(seqs[-1])}
    )
    assert drained.status_code == 204


async def test_sse_follows_a_live_run_from_its_start(client: httpx.AsyncClient) -> None:
    eid = await start(client, blueprint=slow(0.2))
    async with client.stream("GET", f"/v1/executions/{eid}/events", headers=SSE) as response:
        events = await sse_events(response)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    statuses = [(e["node_id"], e["status"]) for e in events if e["kind"] == "node"]
    assert ("wait", "running") in statuses
    assert statuses[-1] == ("wait", "completed")
    assert events[-1]["status"] == ExecutionStatus.COMPLETED


async def test_cancel_mid_run(client: httpx.AsyncClient) -> None:
    eid = await start(client, blueprint=slow(30))
    async with client.stream("GET", f"/v1/executions/{eid}/events", headers=SSE) as response:
        events: list[dict[str, Any]] = []
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            events.append(json.loads(line[6:]))
            if events[-1]["node_id"] == "wait" and events[-1]["status"] == "running":
                cancel = await client.post(f"/v1/executions/{eid}/cancel", headers=AUTH)
                assert cancel.json() == {"cancelled": True}
    assert events[-1]["status"] == ExecutionStatus.CANCELLED
    result = (await client.get(f"/v1/executions/{eid}", headers=AUTH)).json()
    assert result["status"] == ExecutionStatus.CANCELLED
    assert result["nodes"]["first"]["status"] == NodeStatus.COMPLETED
    assert result["nodes"]["wait"]["status"] == NodeStatus.CANCELLED
    again = await client.post(f"/v1/executions/{eid}/cancel", headers=AUTH)
    assert again.json() == {"cancelled": False}


async def test_event_pump_buffer_stays_bounded_for_a_stalled_reader(engine: Engine) -> None:
    eid = await engine.start(blueprint=chain(12))
    pump = EventPump(engine.events, eid, 0, limit=4)
    task = asyncio.get_running_loop().create_task(pump.run())
    await engine.wait(eid)  # the reader takes nothing while the whole run happens
    await wait_until(lambda: pump.pauses > 0)
    assert pump.high_water <= 4
    seqs: list[int] = []
    while (batch := await pump.take()) is not None:
        seqs += [e.seq for e in batch]
    await task
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) > 12
    assert pump.reached_terminal
    assert pump.high_water <= 4


# -- graceful shutdown ---------------------------------------------------------------


async def test_sigterm_interrupts_running_executions(home: Path, tmp_path: Path) -> None:
    code = "import sys; from main_process.http_server import serve; serve(port=0, home=sys.argv[1])"
    env = {**os.environ, "CONDUCTOR_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(home)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert "CONDUCTOR_TOKEN" in line, line
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        async with httpx.AsyncClient(base_url=match.group(0), timeout=10) as http:
            eid = await start(http, blueprint=slow(30))
            async with http.stream("GET", f"/v1/executions/{eid}/events", headers=SSE) as response:
                events: list[dict[str, Any]] = []
                async for data in response.aiter_lines():
                    if data.startswith("data: "):
                        events.append(json.loads(data[6:]))
                        if events[-1]["node_id"] == "wait" and events[-1]["status"] == "running":
                            proc.send_signal(signal.SIGTERM)
        assert events[-1]["status"] == ExecutionStatus.INTERRUPTED
        assert await asyncio.to_thread(proc.wait, 15) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    engine = Engine(home, plugins=False)
    try:
        result = await engine.get_execution(eid)
        assert result.status is ExecutionStatus.INTERRUPTED
        assert result.nodes["first"].status is NodeStatus.COMPLETED
        resumed = await engine.resume(eid, wait=False)
        assert resumed.execution_id == eid
        assert await engine.cancel(eid)
    finally:
        await engine.close()
