"""Webhook triggers over a real ``conductor serve`` subprocess, spoken to with httpx.

One server (module scope) on a data dir holding user blueprints with webhooks; each
test posts to it as a sender would and checks the answer, and what was recorded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.paths import EXAMPLES_DIR
from main_process.http.hook_auth import sign
from main_process.secrets import Vault
from tests.main_process.serve_process import serve_process

TOKEN = "hook-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = "s3cret-signing-key"
PATH_TOKEN = "p4th-t0ken-value"


def _blueprint(bp_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": bp_id,
        "inputs": {"n": {"type": "integer", "default": 1}},
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": "{{ inputs.n }}"}},
            {"id": "b", "type": "set", "params": {"value": "{{ input * 2 }}"}},
            {"id": "c", "type": "set", "params": {"value": {"doubled": "{{ input }}"}}},
        ],
        **extra,
    }


HOOKS: dict[str, dict[str, Any]] = {
    "plain": _blueprint(
        "plain",
        triggers=[
            {"kind": "webhook", "name": "go", "methods": ["POST", "GET"]},
            {"kind": "webhook", "name": "later", "respond": "at_once"},
            {"kind": "webhook", "name": "signed", "auth": "hmac", "secret": "HOOK_KEY"},
            {"kind": "webhook", "name": "nokey", "auth": "hmac", "secret": "NOT_SET_ANYWHERE"},
            {"kind": "webhook", "name": "tok", "auth": "path_token", "secret": "HOOK_PATH"},
        ],
    ),
    "echo": {
        "id": "echo",
        "triggers": [{"kind": "webhook", "name": "in", "path": "incoming"}],
        "nodes": [
            {
                "id": "seen",
                "type": "set",
                "params": {
                    "value": {
                        "body": "{{ trigger.body }}",
                        "query": "{{ trigger.query }}",
                        "headers": "{{ trigger.headers }}",
                        "method": "{{ trigger.method }}",
                    }
                },
            }
        ],
    },
    "broken": {
        "id": "broken",
        "triggers": [{"kind": "webhook", "name": "fail"}],
        "nodes": [{"id": "bad", "type": "set", "params": {"value": "{{ input.nope }}"}}],
    },
    "sleepy": {
        "id": "sleepy",
        "triggers": [{"kind": "webhook", "name": "slow", "wait_timeout": 0.2}],
        "nodes": [{"id": "d", "type": "delay", "params": {"seconds": 3}}],
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("hooks-home")
    folder = home / "blueprints"
    folder.mkdir()
    for bp_id, blueprint in HOOKS.items():
        (folder / f"{bp_id}.json").write_text(json.dumps(blueprint))
    (folder / "invalid.json").write_text('{"id": "invalid", "triggers": [{"kind": "webhook"}]}')
    # The hmac key from the server's vault (as `conductor secrets set` keeps it), the
    # path token from the documented environment fallback.
    Vault(home).set("HOOK_KEY", KEY)
    env = {"CONDUCTOR_SECRET_HOOK_PATH": PATH_TOKEN}
    with serve_process(home, TOKEN, env=env) as url:
        yield url, home


@pytest.fixture
def client(server: tuple[str, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0], timeout=30) as c:
        yield c


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] and error["message"] and "where" in error
    return error


def test_a_post_runs_the_blueprint_and_answers_its_outputs(client: httpx.Client) -> None:
    response = client.post("/v1/hooks/plain/go", json={"n": 21, "extra": "ignored"}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json() == {"doubled": 42}
    execution_id = response.headers["x-conductor-execution-id"]
    recorded = client.get(f"/v1/executions/{execution_id}", headers=AUTH).json()
    assert recorded["status"] == "completed" and recorded["inputs"] == {"n": 21}
    assert recorded["config"]["trigger"]["id"] == "plain:go"


def test_get_with_query_inputs_and_a_wrong_method(client: httpx.Client) -> None:
    response = client.get("/v1/hooks/plain/go", params={"n": "5"}, headers=AUTH)
    assert response.status_code == 200 and response.json() == {"doubled": 10}
    wrong = client.get("/v1/hooks/plain/later", headers=AUTH)
    assert _error(wrong, 405) and wrong.headers["allow"] == "POST"
    _error(client.put("/v1/hooks/plain/go", headers=AUTH), 405)


def test_an_input_of_the_wrong_type_is_a_422_naming_it(client: httpx.Client) -> None:
    error = _error(client.post("/v1/hooks/plain/go", json={"n": "many"}, headers=AUTH), 422)
    assert error["problems"][0]["where"] == "inputs.n"
    _error(
        client.post(
            "/v1/hooks/plain/go",
            content=b"{not json",
            headers={**AUTH, "Content-Type": "application/json"},
        ),
        422,
    )


def test_the_token_is_needed_and_unknown_hooks_are_404(client: httpx.Client) -> None:
    assert _error(client.post("/v1/hooks/plain/go", json={}), 401)["type"] == "AuthError"
    wrong = {"Authorization": "Bearer nope"}
    _error(client.post("/v1/hooks/plain/go", json={}, headers=wrong), 401)
    _error(client.post("/v1/hooks/plain/nothing", json={}, headers=AUTH), 404)
    _error(client.post("/v1/hooks/missing/go", json={}, headers=AUTH), 404)
    # Without the token nobody learns which hooks exist.
    _error(client.post("/v1/hooks/missing/go", json={}), 401)
    _error(client.post("/v1/hooks/.hidden/go", json={}, headers=AUTH), 404)
    _error(client.post("/v1/hooks/.hidden/go", json={}), 401)
    _error(client.post("/v1/hooks/invalid/go", json={}, headers=AUTH), 404)
    _error(client.post("/v1/hooks/plain/go/extra-token", json={}, headers=AUTH), 404)


def test_the_request_is_the_trigger_context_without_credentials(client: httpx.Client) -> None:
    body = json.dumps({"x": [1, 2]}).encode()
    headers = {
        **AUTH,
        "Content-Type": "application/json",
        "X-Conductor-Signature": "sha256=planted",
        "X-Custom": "kept",
    }
    response = client.post("/v1/hooks/echo/incoming?a=1&a=2&b=x", content=body, headers=headers)
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["body"] == {"x": [1, 2]} and seen["method"] == "POST"
    assert seen["query"] == {"a": ["1", "2"], "b": "x"}
    assert seen["headers"]["x-custom"] == "kept"
    assert "authorization" not in seen["headers"]
    assert "x-conductor-signature" not in seen["headers"]
    execution_id = response.headers["x-conductor-execution-id"]
    events = client.get(f"/v1/executions/{execution_id}/events", headers=AUTH).text
    recorded = client.get(f"/v1/executions/{execution_id}", headers=AUTH).text
    for text in (events, recorded):
        assert TOKEN not in text and "planted" not in text


def test_hmac_signatures(client: httpx.Client, server: tuple[str, Path]) -> None:
    body = b'{"n": 4}'
    good = {"X-Conductor-Signature": sign(KEY, body), "Content-Type": "application/json"}
    response = client.post("/v1/hooks/plain/signed", content=body, headers=good)
    assert response.status_code == 200 and response.json() == {"doubled": 8}
    bad = {"X-Conductor-Signature": sign("other", body), "Content-Type": "application/json"}
    _error(client.post("/v1/hooks/plain/signed", content=body, headers=bad), 403)
    tampered = client.post("/v1/hooks/plain/signed", content=b'{"n": 5}', headers=good)
    _error(tampered, 403)
    _error(client.post("/v1/hooks/plain/signed", content=body, headers=AUTH), 401)
    _error(client.post("/v1/hooks/plain/nokey", content=body, headers=good), 503)
    recorded = client.get("/v1/executions", params={"blueprint_id": "plain"}, headers=AUTH)
    assert KEY not in recorded.text


def test_path_tokens(client: httpx.Client) -> None:
    response = client.post(f"/v1/hooks/plain/tok/{PATH_TOKEN}", json={"n": 1})
    assert response.status_code == 200 and response.json() == {"doubled": 2}
    _error(client.post("/v1/hooks/plain/tok/wrong-token", json={"n": 1}), 403)
    _error(client.post("/v1/hooks/plain/tok", json={"n": 1}, headers=AUTH), 401)
    execution_id = response.headers["x-conductor-execution-id"]
    recorded = client.get(f"/v1/executions/{execution_id}", headers=AUTH).text
    assert PATH_TOKEN not in recorded


def test_at_once_failure_and_timeout_answers(client: httpx.Client) -> None:
    started = client.post("/v1/hooks/plain/later", json={"n": 3}, headers=AUTH)
    assert started.status_code == 202, started.text
    execution_id = started.json()["execution_id"]
    waited = client.post(
        "/v1/executions", json={"blueprint_id": "plain", "wait": True}, headers=AUTH
    )
    assert waited.status_code == 200
    result = client.get(f"/v1/executions/{execution_id}", headers=AUTH).json()
    assert result["inputs"] == {"n": 3}
    failed = client.post("/v1/hooks/broken/fail", json={}, headers=AUTH)
    error = _error(failed, 502)
    assert error["node_id"] == "bad"
    assert error["execution_id"] == failed.headers["x-conductor-execution-id"]
    assert error["execution_id"] in error["message"]
    slow = client.post("/v1/hooks/sleepy/slow", json={}, headers=AUTH)
    assert slow.status_code == 202 and slow.json()["status"] == "running"
    client.post(f"/v1/executions/{slow.json()['execution_id']}/cancel", headers=AUTH)


def test_a_body_over_the_limit_is_413(client: httpx.Client) -> None:
    big = b"x" * (8 * 1024 * 1024 + 1)
    _error(client.post("/v1/hooks/plain/go", content=big, headers=AUTH), 413)


def test_every_other_route_still_needs_the_token(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if path in ("/v1/health", "/openapi.json") or path.startswith("/v1/hooks/"):
            continue
        url = path.replace("{", "").replace("}", "").replace(":path", "")
        for method in operations:
            response = client.request(method.upper(), url)
            assert response.status_code == 401, (method, path, response.text)
            checked += 1
    assert checked >= 15
    hooks = [p for p in schema["paths"] if p.startswith("/v1/hooks/")]
    assert set(hooks) == {
        "/v1/hooks/{blueprint_id}/{path}",
        "/v1/hooks/{blueprint_id}/{path}/{token}",
    }


def test_the_bundled_example_answers_only_once_copied(
    client: httpx.Client, server: tuple[str, Path]
) -> None:
    order = {"amount": 150, "customer": "ada"}
    _error(client.post("/v1/hooks/webhook-order/order", json=order, headers=AUTH), 404)
    copy = server[1] / "blueprints" / "webhook-order.json"
    shutil.copy(EXAMPLES_DIR / "webhook-order.json", copy)
    try:
        headers = {**AUTH, "User-Agent": "shop/1.0"}
        response = client.post("/v1/hooks/webhook-order/order", json=order, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "reply": {"accepted": True, "customer": "ada", "review": True},
            "via": "shop/1.0",
        }
    finally:
        copy.unlink()
