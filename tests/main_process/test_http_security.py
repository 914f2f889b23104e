"""Security of ``conductor serve``: every route the app has refuses bad credentials,
bodies are bounded however they arrive, and a server without code nodes refuses
blueprints that would run code — inline, by id, on resume and on validate.

The 401 test walks the app's own route table, so a route added later is checked
without anyone remembering to list it here.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import routing

from app.blueprint import Runner
from main_process.engine.engine import Engine
from main_process.http import auth as http_auth
from main_process.http.auth import PUBLIC_PATHS
from main_process.http.server import code_nodes_allowed, create_app
from main_process.nodes.base import EmptyParams, NodeContext, NodeType
from main_process.nodes.registry import default_registry
from tests.main_process.http_harness import (
    AUTH,
    ROOT,
    TOKEN,
    assert_error,
    follow_until,
    running_server,
    slow,
    start,
)

# -- 401 on every protected route ----------------------------------------------------


def protected_routes(engine: Engine) -> list[tuple[str, str]]:
    """(method, concrete path) for every route of the app except the public ones.

    Newer FastAPI keeps an included router as one entry of ``app.routes``;
    ``iter_route_contexts`` (where it exists) flattens it into its routes.
    """
    app = create_app(engine, TOKEN)
    flatten = getattr(routing, "iter_route_contexts", None)
    table: list[Any] = list(flatten(app.routes)) if flatten is not None else list(app.routes)
    found: list[tuple[str, str]] = []
    public_seen: set[str] = set()
    for route in table:
        path: str = route.path
        if path in PUBLIC_PATHS:
            public_seen.add(path)
            continue
        assert path.startswith("/v1/") and route.methods, f"unexpected route {path!r}"
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        found.extend((method, concrete) for method in sorted(route.methods))
    assert public_seen == PUBLIC_PATHS == {"/v1/health", "/openapi.json"}
    return found


BAD_AUTHORIZATION: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"Authorization", b"Bearer wrong")],
    # "Bearer " and "Bearer TOKEN " cannot be sent: trailing whitespace is not part of
    # a header value (RFC 9110 5.5); h11 refuses to send it and strips it on receipt.
    [(b"Authorization", b"Bearer")],
    [(b"Authorization", b"Basic abc")],
    [(b"Authorization", b"Basic " + TOKEN.encode())],
    [(b"Authorization", b"Token " + TOKEN.encode())],
    [(b"Authorization", TOKEN.encode())],
    [(b"Authorization", b"bearer  " + TOKEN.encode() + b"  extra")],
    [(b"Authorization", b"Bearer " + TOKEN.encode() + b"x")],
    [(b"Authorization", b"Bearer " + TOKEN[:-1].encode())],
    [(b"Authorization", b"Bearer " + TOKEN.upper().encode())],
    [(b"Authorization", b"Bearer " + TOKEN.encode() + b",Bearer " + TOKEN.encode())],
    [(b"Authorization", "Bearer tëst-tokén-123".encode())],
    [(b"Authorization", b"Bearer \xff\xfe" + TOKEN.encode())],
    [(b"Authorization", b"Bearer " + b"a" * 60_000)],
    # Two headers: whichever one a proxy or framework would read, refuse both orders.
    [(b"Authorization", b"Bearer " + TOKEN.encode()), (b"Authorization", b"Bearer wrong")],
    [(b"Authorization", b"Bearer wrong"), (b"Authorization", b"Bearer " + TOKEN.encode())],
]


async def test_every_route_of_the_app_refuses_bad_credentials(
    engine: Engine, client: httpx.AsyncClient
) -> None:
    routes = protected_routes(engine)
    assert len(routes) >= 13
    assert ("POST", "/v1/executions") in routes
    for headers in BAD_AUTHORIZATION:
        for method, path in routes:
            response = await client.request(method, path, headers=headers, json={})
            error = assert_error(response, 401, "AuthError")
            assert error["where"] == "Authorization", (method, path, headers)
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert await engine.list_executions() == []


async def test_the_right_token_passes_on_every_route(
    engine: Engine, client: httpx.AsyncClient
) -> None:
    """The other side of the 401 test: no route refuses a good token as unauthorized
    (the scheme in any case, extra spaces after it allowed by RFC 9110)."""
    for authorization in (f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER   {TOKEN}"):
        for method, path in protected_routes(engine):
            response = await client.request(
                method, path, headers={"Authorization": authorization}, json={}
            )
            assert response.status_code != 401, (method, path, response.text)


async def test_token_is_compared_as_bytes_in_constant_time(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[type, type]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        seen.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(http_auth.hmac, "compare_digest", recording)
    assert (await client.get("/v1/node-types", headers=AUTH)).status_code == 200
    assert (await client.get("/v1/node-types", headers={"Authorization": "Bearer x"})).is_error
    assert seen == [(bytes, bytes), (bytes, bytes)]


# -- bodies --------------------------------------------------------------------------


async def raw_request(url: str, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send bytes as they are (no client rewriting them); the status and JSON body."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


async def test_chunked_body_without_content_length_is_bounded(engine: Engine) -> None:
    async with running_server(engine, max_body_bytes=1024) as url:
        chunk = b"%x\r\n%s\r\n" % (512, b" " * 512)
        request = (
            b"POST /v1/executions HTTP/1.1\r\nHost: t\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + chunk * 3 + b"0\r\n\r\n"
        )
        status, body = await raw_request(url, request)
        assert status == 413
        assert body["error"]["type"] == "ConfigError"
        assert body["error"]["where"] == "body"
        small = json.dumps({"blueprint": slow(0), "wait": True}).encode()
        request = (
            b"POST /v1/executions HTTP/1.1\r\nHost: t\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small)
        )
        status, result = await raw_request(url, request)
        assert status == 200, result
        assert result["status"] == "completed"
    assert len(await engine.list_executions()) == 1  # the oversized one never started


# -- code nodes ----------------------------------------------------------------------


def code_blueprint(blueprint_id: str = "code") -> dict[str, Any]:
    return {
        "id": blueprint_id,
        "nodes": [
            {"id": "start", "type": "set", "params": {"value": 1}},
            {"id": "py", "type": "python.function", "params": {"function": "json:dumps"}},
            {"id": "sh", "type": "shell.command", "params": {"argv": ["true"]}},
        ],
    }


def assert_code_problems(error: dict[str, Any], places: list[str]) -> None:
    problems = {p["where"]: p for p in error["problems"]}
    assert sorted(problems) == places
    for problem in problems.values():
        assert problem["code"] == "disabled_type"
        assert "runs code" in problem["message"]


@pytest.fixture
async def no_code(home: Path, tmp_path: Path) -> AsyncIterator[tuple[Engine, httpx.AsyncClient]]:
    eng = Engine(home, base_dir=tmp_path, plugins=False, allow_code_nodes=False)
    try:
        async with (
            running_server(eng) as url,
            httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH) as http,
        ):
            yield eng, http
    finally:
        await eng.close()


async def test_no_code_server_refuses_code_nodes_everywhere(
    no_code: tuple[Engine, httpx.AsyncClient], home: Path
) -> None:
    _engine, http = no_code
    health = (await http.get("/v1/health")).json()
    assert health["code_nodes"] is False

    valid = (await http.post("/v1/blueprints/validate", json=code_blueprint())).json()
    assert valid["valid"] is False
    assert_code_problems({"problems": valid["problems"]}, ["nodes[1].type", "nodes[2].type"])

    inline = await http.post("/v1/executions", json={"blueprint": code_blueprint(), "wait": True})
    assert_code_problems(
        assert_error(inline, 422, "BlueprintError"), ["nodes[1].type", "nodes[2].type"]
    )

    saved = await http.put("/v1/blueprints/code", json=code_blueprint())
    assert_code_problems(
        assert_error(saved, 422, "BlueprintError"), ["nodes[1].type", "nodes[2].type"]
    )
    assert not (home / "blueprints" / "code.json").exists()

    # A blueprint put in the library by someone else (the GUI, a file copy) by id.
    (home / "blueprints").mkdir(exist_ok=True)
    (home / "blueprints" / "code.json").write_text(json.dumps(code_blueprint()))
    by_id = await http.post("/v1/executions", json={"blueprint_id": "code"})
    assert_code_problems(
        assert_error(by_id, 422, "BlueprintError"), ["nodes[1].type", "nodes[2].type"]
    )

    assert (await http.get("/v1/executions")).json() == []
    plain = await http.post("/v1/executions", json={"blueprint": slow(0), "wait": True})
    assert plain.json()["status"] == "completed"


async def test_no_code_server_refuses_to_resume_a_code_execution(
    home: Path, tmp_path: Path
) -> None:
    """An execution started where code nodes are allowed (the GUI, the CLI) is not
    finished by a server that allows none: the resume is refused and nothing runs."""
    blueprint = code_blueprint("resumable")
    blueprint["nodes"].insert(1, {"id": "wait", "type": "delay", "params": {"seconds": 30}})
    local = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        async with (
            running_server(local) as url,
            httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH) as http,
        ):
            eid = await start(http, blueprint=blueprint)
            await follow_until(
                http, eid, lambda e: e["node_id"] == "wait" and e["status"] == "running"
            )
            assert (await http.post(f"/v1/executions/{eid}/cancel")).json() == {"cancelled": True}
            await local.wait(eid)
    finally:
        await local.close()
    remote = Engine(home, base_dir=tmp_path, plugins=False, allow_code_nodes=False)
    try:
        async with (
            running_server(remote) as url,
            httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH) as http,
        ):
            refused = await http.post(f"/v1/executions/{eid}/resume", json={"wait": True})
            error = assert_error(refused, 422, "BlueprintError")
            assert_code_problems(error, ["nodes[2].type", "nodes[3].type"])
            after = (await http.get(f"/v1/executions/{eid}")).json()
            assert after["status"] == "cancelled"
            assert after["nodes"]["py"]["status"] != "completed"
    finally:
        await remote.close()


def _eval(params: EmptyParams, input: Any, ctx: NodeContext) -> Any:
    """A plugin type that would evaluate what it is given."""
    return input


async def test_plugin_types_that_run_code_are_refused_too(home: Path, tmp_path: Path) -> None:
    registry = default_registry(plugins=False)
    registry.register(
        NodeType(
            "acme.eval", "Eval", "Code", EmptyParams, _eval, runner=Runner.INLINE, runs_code=True
        )
    )
    registry.register(NodeType("acme.echo", "Echo", "Data", EmptyParams, _eval, runs_code=False))
    blueprint = {
        "id": "plugin",
        "nodes": [{"id": "e", "type": "acme.echo"}, {"id": "x", "type": "acme.eval"}],
    }
    strict = Engine(home, base_dir=tmp_path, registry=registry, allow_code_nodes=False)
    try:
        assert [p.where for p in await strict.validate(blueprint)] == ["nodes[1].type"]
        # A plugin that does not say whether it runs code is not trusted (found in
        # review), also when it is registered after the engine started.
        registry.register(NodeType("acme.unknown", "Unknown", "Data", EmptyParams, _eval))
        unknown = {"id": "u", "nodes": [{"id": "u", "type": "acme.unknown"}]}
        assert [p.where for p in await strict.validate(unknown)] == ["nodes[0].type"]
        assert await strict.validate({"id": "s", "nodes": [{"id": "s", "type": "set"}]}) == []
    finally:
        await strict.close()
    allowing = Engine(home, base_dir=tmp_path, registry=registry)
    try:
        assert await allowing.validate(blueprint) == []
        assert await allowing.validate(code_blueprint()) == []
    finally:
        await allowing.close()


async def test_health_reports_code_nodes_on_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/health")).json()["code_nodes"] is True


def test_code_nodes_default_to_on_only_for_loopback_hosts() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert code_nodes_allowed(host, None)
        assert not code_nodes_allowed(host, False)
    for host in ("0.0.0.0", "::", "192.168.1.5"):
        assert not code_nodes_allowed(host, None)
        assert code_nodes_allowed(host, True)


# -- the CLI's flags -----------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``conductor serve --no-code-nodes --file-root DIR`` in a real process."""
    root = tmp_path / "root"
    root.mkdir()
    env = {**os.environ, "CONDUCTOR_HOME": str(tmp_path / "home"), "CONDUCTOR_TOKEN": TOKEN}
    args = ["serve", "--port", "0", "--no-code-nodes", "--file-root", str(root)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert found, line
        assert "code nodes off" in line
        assert f"files under {root.resolve()})" in line
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe open
        yield found.group(1), root
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serve_flags_turn_code_nodes_off_and_confine_files(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = served
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
        assert http.get("/v1/health").json()["code_nodes"] is False
        refused = http.post("/v1/executions", json={"blueprint": code_blueprint()})
        assert_error(refused, 422, "BlueprintError")

        def write(path: Path) -> dict[str, Any]:
            node = {"id": "w", "type": "file.write", "params": {"path": str(path)}}
            body = {"blueprint": {"id": "w", "nodes": [node]}, "wait": True}
            result: dict[str, Any] = http.post("/v1/executions", json=body).json()
            return result

        inside = write(root / "ok.json")
        assert inside["status"] == "completed", inside
        outside = write(tmp_path / "outside.json")
        assert outside["status"] == "failed"
        assert outside["nodes"]["w"]["error"]["where"] == "nodes[0].params.path"
        assert not (tmp_path / "outside.json").exists()


def test_error_bodies_never_carry_a_traceback() -> None:
    from app.errors import ErrorInfo
    from main_process.http.errors import error_bytes

    info = ErrorInfo(
        type="StoreError",
        message="disk I/O error",
        where="store",
        traceback='Traceback (most recent call last):\n  File "/srv/secret/engine.py"',
    )
    body = orjson.loads(error_bytes(info))
    assert body == {"error": {"type": "StoreError", "message": "disk I/O error", "where": "store"}}


async def test_slow_request_headers_time_out(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client sending its headers a byte at a time is closed (slowloris); others are served."""
    monkeypatch.setenv("CONDUCTOR_HEADER_TIMEOUT", "0.5")
    async with running_server(engine) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # never finished
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        assert 0.4 < time.monotonic() - started < 3
        writer.close()
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/v1/health")).status_code == 200
