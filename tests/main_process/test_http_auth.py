"""Who may use the HTTP API: the bearer token on every route but the public ones, the
token file, loopback-only binding without an explicit token, and the body size limit."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.errors import ConfigError, TransportError
from app.paths import token_path
from main_process.engine.engine import Engine
from main_process.http.auth import (
    TokenSource,
    check_host,
    is_loopback,
    read_or_create_token_file,
    resolve_token,
)
from main_process.http.server import bind, serve_async
from tests.main_process.http_harness import (
    AUTH,
    TOKEN,
    assert_error,
    chain,
    follow_until,
    running_server,
    slow,
    start,
)


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
        error = assert_error(response, 401, "AuthError")
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


async def test_a_query_parameter_given_twice_is_refused(client: httpx.AsyncClient) -> None:
    """Found by schemathesis: ``?blueprint_id=a&blueprint_id=b`` was answered for ``b``
    alone. No route takes a list in its query, so a repeat is an error naming it."""
    refused = await client.get("/v1/executions?blueprint_id=a&limit=5&blueprint_id=b", headers=AUTH)
    error = assert_error(refused, 422, "ConfigError")
    assert error["where"] == "query.blueprint_id"
    assert (await client.get("/v1/executions?blueprint_id=a&limit=5", headers=AUTH)).is_success
    # The token is still checked first.
    assert (await client.get("/v1/executions?limit=1&limit=2")).status_code == 401


async def test_an_unknown_query_parameter_is_refused(client: httpx.AsyncClient) -> None:
    """Found by schemathesis: ``?limt=5`` (or an empty name) was ignored without a word."""
    refused = await client.get("/v1/executions?limt=5", headers=AUTH)
    error = assert_error(refused, 422, "ConfigError")
    assert error["where"] == "query.limt"
    assert "limit" in error["message"]  # what the route does take
    assert (await client.get("/v1/executions?=false", headers=AUTH)).status_code == 422
    assert (await client.get("/v1/health?_=1700000000")).status_code == 200  # monitors
