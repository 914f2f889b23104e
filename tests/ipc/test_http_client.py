"""The ``http`` transport against a real server: the same results and the same typed
errors as ``direct``, events over SSE (with a reconnect after a dropped stream),
start/wait/cancel/resume, the blueprint library, and failures to reach the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import (
    Blueprint,
    BlueprintError,
    BlueprintNotFoundError,
    Conductor,
    ConductorError,
    ExecutionNotFoundError,
    ExecutionResult,
    ExecutionStatus,
    NodeSpec,
    ResumeError,
    create_conductor,
    create_simple_node,
)
from app.errors import ConfigError, TransportError
from main_process.engine.engine import Engine
from main_process.http.server import bind, create_app, server_config
from tests.main_process.http_harness import TOKEN, running_server, wait_until


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    home = tmp_path / "server-home"
    home.mkdir()
    eng = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        yield eng
    finally:
        await eng.close()


@pytest.fixture
async def url(engine: Engine) -> AsyncIterator[str]:
    async with running_server(engine) as address:
        yield address


@pytest.fixture
async def remote(url: str) -> AsyncIterator[Conductor]:
    c = create_conductor("http", api_url=url, token=TOKEN)
    try:
        yield c
    finally:
        await c.close()


def chain() -> dict[str, Any]:
    return {
        "id": "chain",
        "inputs": {"n": {"type": "number", "default": 2}},
        "nodes": [
            {
                "id": "make",
                "type": "set",
                "params": {"value": {"items": [{"v": "{{ inputs.n }}"}, {"v": 5}, {"v": -1}]}},
            },
            {"id": "keep", "type": "json.transform", "params": {"expression": "items[?v > `0`].v"}},
            {"id": "wrap", "type": "set", "params": {"value": {"kept": "{{ input }}"}}},
        ],
    }


def failing() -> dict[str, Any]:
    return {
        "id": "failing",
        "nodes": [
            {"id": "ok", "type": "set", "params": {"value": 1}},
            {
                "id": "boom",
                "type": "python.function",
                "params": {"function": "tests.node_functions:boom"},
            },
            {"id": "after", "type": "set", "params": {"value": 2}},
        ],
    }


def tolerant() -> dict[str, Any]:
    bp = failing()
    bp["id"] = "tolerant"
    bp["nodes"][1]["on_error"] = "continue"
    return bp


def slow() -> dict[str, Any]:
    return {
        "id": "slow",
        "nodes": [
            {"id": "first", "type": "set", "params": {"value": 1}},
            {"id": "wait", "type": "delay", "params": {"seconds": 30}},
        ],
    }


def comparable(result: ExecutionResult) -> dict[str, Any]:
    """A result without what differs between two runs (ids, clocks)."""
    data = result.model_dump(
        mode="json", exclude={"execution_id", "created_at", "started_at", "finished_at"}
    )
    for node in data["nodes"].values():
        node.pop("started_at")
        node.pop("finished_at")
        if node["error"]:
            node["error"].pop("traceback", None)
    if data["error"]:
        data["error"].pop("traceback", None)
    return data


@pytest.mark.parametrize(
    ("blueprint", "blueprint_id", "inputs"),
    [
        (chain(), None, {"n": 7}),
        (failing(), None, {}),
        (tolerant(), None, {}),
        (None, "branch", {"amount": 500}),
        (None, "branch", {"amount": 5}),
    ],
    ids=["set-transform-chain", "failing-node", "on-error-continue", "if-true", "if-false"],
)
async def test_execute_over_http_equals_direct(
    remote: Conductor,
    conductor: Conductor,
    blueprint: dict[str, Any] | None,
    blueprint_id: str | None,
    inputs: dict[str, Any],
) -> None:
    config = {"debug_mode": True}
    over_http = await remote.execute(
        blueprint=blueprint, blueprint_id=blueprint_id, inputs=inputs, config=config
    )
    direct = await conductor.execute(
        blueprint=blueprint, blueprint_id=blueprint_id, inputs=inputs, config=config
    )
    assert comparable(over_http) == comparable(direct)
    assert over_http == await remote.get_execution(over_http.execution_id)
    if blueprint is not None:
        model = await remote.execute(
            blueprint=Blueprint.model_validate(blueprint), inputs=inputs, config=config
        )
        assert comparable(model) == comparable(direct)


async def test_typed_errors_match_direct(remote: Conductor, conductor: Conductor) -> None:
    bad = {"id": "bad", "nodes": [{"id": "a", "type": "nope"}, {"id": "a", "type": "set"}]}
    finished = await conductor.execute(blueprint=chain())
    finished_remote = await remote.execute(blueprint=chain())
    cases: list[tuple[Any, Any, type[ConductorError]]] = [
        (lambda c: c.get_blueprint("nope"), None, BlueprintNotFoundError),
        (lambda c: c.delete_blueprint("nope"), None, BlueprintNotFoundError),
        (lambda c: c.execute(blueprint_id="nope"), None, BlueprintNotFoundError),
        (lambda c: c.execute(blueprint=bad), None, BlueprintError),
        (lambda c: c.save_blueprint(bad), None, BlueprintError),
        (lambda c: c.get_execution("nope"), None, ExecutionNotFoundError),
        (lambda c: c.cancel("nope"), None, ExecutionNotFoundError),
        (lambda c: c.resume("nope"), None, ExecutionNotFoundError),
        (
            lambda c: c.resume(finished.execution_id),
            lambda c: c.resume(finished_remote.execution_id),
            ResumeError,
        ),
    ]
    for call, remote_call, kind in cases:
        with pytest.raises(kind) as local_error:
            await call(conductor)
        with pytest.raises(kind) as remote_error:
            await (remote_call or call)(remote)
        assert type(remote_error.value) is type(local_error.value)
        assert remote_error.value.where == local_error.value.where
        if isinstance(local_error.value, BlueprintError):
            assert isinstance(remote_error.value, BlueprintError)
            assert remote_error.value.problems == local_error.value.problems
            assert remote_error.value.problems


async def test_events_replay_and_follow_to_the_terminal_event(remote: Conductor) -> None:
    eid = await remote.start(blueprint=chain())
    events = [e async for e in remote.events(eid)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].is_terminal
    assert events[-1].status == ExecutionStatus.COMPLETED
    later = [e async for e in remote.events(eid, after_seq=2)]
    assert later == events[2:]
    assert [e async for e in remote.events(eid, after_seq=events[-1].seq)] == []
    result = await remote.wait(eid)
    assert result.status is ExecutionStatus.COMPLETED
    with pytest.raises(ExecutionNotFoundError):
        [e async for e in remote.events("nope")]


class DropFirstStream:
    """An ASGI wrapper that cuts the first event stream after its first event, the way a
    proxy or a flaky network would, and records each stream's Last-Event-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_event_ids: list[bytes | None] = []
        self.dropped = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/events"):
            await self.app(scope, receive, send)
            return
        self.last_event_ids.append(dict(scope["headers"]).get(b"last-event-id"))
        if self.dropped:
            await self.app(scope, receive, send)
            return
        self.dropped = True

        async def cut(message: Message) -> None:
            body = message.get("body", b"")
            if message["type"] == "http.response.body" and b"id: " in body:
                first = body[: body.index(b"\n\n") + 2] if body.startswith(b"id: ") else body
                await send({**message, "body": first, "more_body": True})
                raise ConnectionResetError("stream cut by the test")
            await send(message)

        await self.app(scope, receive, cut)


async def test_events_reconnect_with_last_event_id_after_a_drop(engine: Engine) -> None:
    wrapper = DropFirstStream(create_app(engine, TOKEN))
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(server_config(wrapper))  # type: ignore[arg-type]
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    await wait_until(lambda: server.started)
    remote = create_conductor(
        "http", api_url=f"http://127.0.0.1:{sock.getsockname()[1]}", token=TOKEN
    )
    try:
        eid = await remote.start(blueprint=chain())
        events = [e async for e in remote.events(eid)]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[-1].is_terminal
        assert wrapper.dropped
        assert wrapper.last_event_ids[:2] == [b"0", b"1"]
    finally:
        await remote.close()
        server.should_exit = True
        await task
        sock.close()


async def test_start_wait_cancel_resume(remote: Conductor, engine: Engine) -> None:
    eid = await remote.start(blueprint=slow())
    async for event in remote.events(eid):
        if event.node_id == "wait" and event.status == "running":
            break
    waiting = asyncio.get_running_loop().create_task(remote.wait(eid))
    assert await remote.cancel(eid) is True
    cancelled = await waiting
    assert cancelled.status is ExecutionStatus.CANCELLED
    assert await remote.cancel(eid) is False
    resumed = await remote.resume(eid, wait=False)
    assert resumed.execution_id == eid
    assert resumed.status in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
    await wait_until(lambda: engine.states.get_active(eid) is not None)
    assert await remote.cancel(eid) is True
    assert (await remote.wait(eid)).status is ExecutionStatus.CANCELLED


async def test_resume_with_wait_finishes_a_failed_run(
    remote: Conductor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "fail"
    marker.touch()
    monkeypatch.setenv("CONDUCTOR_TEST_FAIL", str(marker))
    bp = {
        "id": "flaky",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": {"step": 0}}},
            {
                "id": "b",
                "type": "python.function",
                "params": {"function": "tests.node_functions:fail_while_file"},
            },
        ],
    }
    first = await remote.execute(blueprint=bp)
    assert first.status is ExecutionStatus.FAILED
    marker.unlink()
    again = await remote.resume(first.execution_id)
    assert again.status is ExecutionStatus.COMPLETED
    assert again.outputs == {"step": 1}


async def test_library_and_listings_match_direct(remote: Conductor, conductor: Conductor) -> None:
    saved = await remote.save_blueprint(Blueprint.model_validate(chain()))
    assert saved.id == "chain"
    assert saved.source == "user"
    assert (await remote.get_blueprint("chain")) == Blueprint.model_validate(chain())
    assert "chain" in {b.id for b in await remote.list_blueprints()}
    await conductor.save_blueprint(chain())
    assert [b.id for b in await remote.list_blueprints()] == [
        b.id for b in await conductor.list_blueprints()
    ]
    bad = {"id": "bad", "nodes": [{"id": "a", "type": "nope"}]}
    assert await remote.validate(bad) == await conductor.validate(bad)
    assert await remote.validate(chain()) == []
    assert await remote.node_types() == await conductor.node_types()
    result = await remote.execute(blueprint_id="chain")
    listed = await remote.list_executions(limit=5, status="completed", blueprint_id="chain")
    assert [e.execution_id for e in listed] == [result.execution_id]
    assert await remote.list_executions(status="failed") == []
    await remote.delete_blueprint("chain")
    with pytest.raises(BlueprintNotFoundError):
        await remote.get_blueprint("chain")


async def test_code_defined_nodes_stay_in_process(remote: Conductor) -> None:
    async def double(value: Any) -> Any:
        return value

    bp = Blueprint(id="code", nodes=[create_simple_node("n", "double", double)])
    with pytest.raises(ConfigError, match="defined in code"):
        await remote.execute(blueprint=bp)
    with pytest.raises(ConfigError, match="cannot send"):
        await remote.execute(blueprint=chain(), inputs={"n": object()})
    ok = Blueprint(id="plain", nodes=[NodeSpec(id="n", type="set", params={"value": 3})])
    assert (await remote.execute(blueprint=ok)).outputs == 3


async def test_unreachable_server_and_wrong_token_are_transport_errors(url: str) -> None:
    closed = bind("127.0.0.1", 0)
    port = closed.getsockname()[1]
    closed.close()
    nowhere = create_conductor("http", api_url=f"http://127.0.0.1:{port}", token=TOKEN)
    try:
        with pytest.raises(TransportError, match=f"127.0.0.1:{port}") as refused:
            await nowhere.list_blueprints()
        assert refused.value.where == f"http://127.0.0.1:{port}"
        with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
            [e async for e in nowhere.events("x")]
    finally:
        await nowhere.close()
    intruder = create_conductor("http", api_url=url, token="not-the-token")
    try:
        with pytest.raises(TransportError, match="bearer token") as denied:
            await intruder.node_types()
        assert denied.value.where == "Authorization"
        assert denied.value.type_name == "AuthError"
    finally:
        await intruder.close()
