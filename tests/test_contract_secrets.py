"""Secrets on every transport: set/list/delete, ``{{ secrets.NAME }}`` in params, a
missing one reported before the run, and a planted value that never reaches the data
dir or any reply (it shows as ``••••`` where a node echoed it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.errors import BlueprintError, ConductorError, SecretError
from app.secret_rules import MASK
from main_process.engine.engine import Engine
from tests.main_process.http_harness import AUTH, TOKEN, open_conductor, running_server

PLANTED = "s3cr3t-planted-value-123"
TRANSPORTS = ["direct", "ipc", "http"]


class _EchoHeaders(BaseHTTPRequestHandler):
    """Answers every GET with the request's headers as JSON (a service echoing a token)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        body = json.dumps({"headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/echo"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def leaky(echo_url: str) -> dict[str, Any]:
    """Every way a node can echo the secret: its output, a log line, an HTTP service
    echoing the header, an error message, the blueprint's outputs."""
    return {
        "id": "leaky",
        "nodes": [
            {
                "id": "build",
                "type": "set",
                "params": {
                    "value": {
                        "token": "{{ secrets.TOKEN }}",
                        "header": "Bearer {{ secrets.TOKEN }}",
                    }
                },
            },
            {"id": "say", "type": "log", "params": {"message": "using {{ secrets.TOKEN }}"}},
            {
                "id": "call",
                "type": "http.request",
                "params": {"url": echo_url, "headers": {"X-Api-Key": "{{ secrets.TOKEN }}"}},
            },
            {
                "id": "broken",
                "type": "set",
                "params": {"value": "{{ {'a': 1}[secrets.TOKEN] }}"},
                "on_error": "continue",
            },
        ],
        "outputs": {"token": "{{ nodes.build.output.token }}", "echo": "{{ nodes.call.output }}"},
    }


async def test_set_list_delete_and_bad_input(tmp_path: Path, home: Path) -> None:
    for transport in TRANSPORTS:
        async with open_conductor(transport, home / transport, tmp_path) as c:
            assert await c.secrets.list() == []
            assert await c.secrets.set("TOKEN", PLANTED) == ["TOKEN"]
            assert await c.secrets.set("OTHER_1", "another-value") == ["OTHER_1", "TOKEN"]
            assert await c.secrets.list() == ["OTHER_1", "TOKEN"]
            assert await c.secrets.delete("OTHER_1") is True
            assert await c.secrets.delete("OTHER_1") is False
            assert await c.secrets.list() == ["TOKEN"]
            with pytest.raises(SecretError) as short:
                await c.secrets.set("SHORT", "abc")
            assert short.value.where == "value"
            with pytest.raises(SecretError) as bad_name:
                await c.secrets.set("1-bad name", "long enough")
            assert bad_name.value.where == "name"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_missing_secret_is_a_problem_naming_node_and_field(
    transport: str, tmp_path: Path, home: Path, echo_url: str
) -> None:
    async with open_conductor(transport, home, tmp_path) as c:
        problems = await c.validate(leaky(echo_url))
        where = {p.where for p in problems}
        assert {
            "nodes[0].params.value.token",
            "nodes[1].params.message",
            'nodes[2].params.headers["X-Api-Key"]',
        } <= where, problems
        assert all(p.code == "secret_missing" for p in problems)
        assert any("node 'call'" in p.message and "'TOKEN'" in p.message for p in problems)
        with pytest.raises(BlueprintError) as refused:
            await c.execute(blueprint=leaky(echo_url))
        assert {p.where for p in refused.value.problems} == where
        await c.secrets.set("TOKEN", PLANTED)
        assert await c.validate(leaky(echo_url)) == []


def _files_holding(home: Path, needle: bytes) -> list[str]:
    return [str(p) for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_planted_value_never_leaves_the_vault(
    transport: str, tmp_path: Path, home: Path, echo_url: str
) -> None:
    replies: list[str] = []
    async with open_conductor(transport, home, tmp_path) as c:
        await c.secrets.set("TOKEN", PLANTED)
        result = await c.execute(blueprint=leaky(echo_url), config={"debug_mode": True})
        assert result.success, result.error
        eid = result.execution_id
        # The value reached the nodes (the service saw it) but is masked where echoed.
        assert result.outputs["token"] == MASK
        assert result.outputs["echo"]["headers"]["X-Api-Key"] == MASK
        assert result.nodes["build"].output == {"token": MASK, "header": f"Bearer {MASK}"}
        broken = result.nodes["broken"]
        assert broken.status.value == "failed" and broken.error is not None
        assert MASK in broken.error.message
        replies.append(result.model_dump_json())
        replies.append((await c.get_execution(eid)).model_dump_json())
        for node_id in result.nodes:
            replies.append((await c.node_output(eid, node_id)).model_dump_json())
        page = await c.event_page(eid)
        replies.append(page.model_dump_json())
        logs = [e for e in page.events if e.kind == "log"]
        assert logs and logs[0].data["message"] == f"using {MASK}"
        replies += [e.model_dump_json() async for e in c.events(eid)]
        replies.append(json.dumps([s.model_dump(mode="json") for s in await c.list_executions()]))
        preview = await c.preview_template("{{ secrets.TOKEN }}", execution_id=eid)
        assert json.loads(preview.text) == MASK
        replies.append(preview.model_dump_json())
        replies.append(json.dumps(await c.secrets.list()))
        with pytest.raises(ConductorError) as unknown:  # an error quoting the value
            await c.get_execution(PLANTED)
        if transport != "direct":  # in-process, the caller's own exception is theirs
            replies.append(str(unknown.value))
            assert MASK in str(unknown.value)
    joined = "\n".join(replies)
    assert PLANTED not in joined
    assert MASK in joined
    assert _files_holding(home, PLANTED.encode()) == []


async def test_http_replies_and_sse_never_carry_the_value(
    tmp_path: Path, home: Path, echo_url: str
) -> None:
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        async with running_server(engine, TOKEN) as url, httpx.AsyncClient(base_url=url) as http:
            put = await http.put("/v1/secrets/TOKEN", json={"value": PLANTED}, headers=AUTH)
            assert put.status_code == 200 and put.json() == {"names": ["TOKEN"]}
            assert (await http.get("/v1/secrets")).status_code == 401  # the token is needed
            run = await http.post(
                "/v1/executions", json={"blueprint": leaky(echo_url), "wait": True}, headers=AUTH
            )
            eid = run.json()["execution_id"]
            sse = await http.get(
                f"/v1/executions/{eid}/events",
                headers={**AUTH, "Accept": "text/event-stream"},
            )
            missing = await http.get(f"/v1/executions/{PLANTED}", headers=AUTH)
            assert missing.status_code == 404 and MASK in missing.text
            listed = await http.get("/v1/secrets", headers=AUTH)
            gone = await http.delete("/v1/secrets/TOKEN", headers=AUTH)
            assert gone.json() == {"deleted": True}
            for reply in (put, run, sse, missing, listed, gone):
                assert PLANTED not in reply.text
            assert MASK in run.text and MASK in sse.text
    finally:
        await engine.close()
    assert _files_holding(home, PLANTED.encode()) == []
