"""The HTTP API against a real uvicorn server on a free loopback port and a real engine:
the error shape and status codes, executions, Server-Sent Events (gap-free, resumable,
bounded), cancel, and a graceful SIGTERM shutdown. Auth and limits: test_http_auth.py."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine
from main_process.http.events import EventPump
from tests.main_process.http_harness import (
    AUTH,
    ROOT,
    SSE,
    TOKEN,
    assert_error,
    chain,
    slow,
    sse_events,
    sse_messages,
    start,
    wait_until,
)


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
        async for kind, data in sse_messages(response):
            if kind != "message":
                continue
            events.append(data)
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
    pump = EventPump(engine.cursor, eid, 0, limit=4)
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
    code = "import sys; from main_process.http.server import serve; serve(port=0, home=sys.argv[1])"
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
                async for kind, data in sse_messages(response):
                    if kind == "message":
                        events.append(data)
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
