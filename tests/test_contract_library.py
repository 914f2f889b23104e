"""The blueprint library's rename and duplicate, and the blueprint an execution ran:
the same results and the same typed errors over every transport (direct, a spawned
worker over a pipe, a real HTTP server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import Conductor
from app.errors import (
    BlueprintConflictError,
    BlueprintNotFoundError,
    ConfigError,
    ExecutionNotFoundError,
)
from main_process.engine.engine import Engine
from tests.main_process.http_harness import AUTH, running_server


def chain(blueprint_id: str, value: int = 1, name: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": blueprint_id,
        "nodes": [{"id": "a", "type": "set", "params": {"value": value}}],
        "ui": {"positions": {"a": [10.0, 20.0]}},
    }
    if name is not None:
        doc["name"] = name
    return doc


def user_ids(home: Path) -> list[str]:
    return sorted(p.stem for p in (home / "blueprints").iterdir())


async def test_duplicate_and_rename(any_conductor: Conductor, home: Path) -> None:
    await any_conductor.save_blueprint(chain("first", name="First"))
    copied = await any_conductor.duplicate_blueprint("first", "second", name="Second")
    assert (copied.id, copied.name, copied.source) == ("second", "Second", "user")
    assert user_ids(home) == ["first", "second"]
    renamed = await any_conductor.rename_blueprint("second", "third")
    assert (renamed.id, renamed.name) == ("third", "Second")
    assert user_ids(home) == ["first", "third"]
    third = await any_conductor.get_blueprint("third")
    assert third.id == "third" and third.nodes[0].params == {"value": 1}
    assert third.ui.positions == {"a": (10.0, 20.0)}
    example = await any_conductor.duplicate_blueprint("multi-step-automation", "mine")
    assert example.source == "user"
    assert (await any_conductor.get_blueprint("mine")).id == "mine"


async def test_refusals_are_typed_and_change_nothing(any_conductor: Conductor, home: Path) -> None:
    await any_conductor.save_blueprint(chain("first"))
    await any_conductor.save_blueprint(chain("taken"))
    with pytest.raises(BlueprintConflictError) as taken:
        await any_conductor.rename_blueprint("first", "taken")
    assert taken.value.where == "new_id"
    for bad in ("../x", ".hidden", "a/b", "x\n", ""):
        with pytest.raises(ConfigError) as invalid:
            await any_conductor.rename_blueprint("first", bad)
        assert invalid.value.where == "new_id"
    with pytest.raises(BlueprintNotFoundError):
        await any_conductor.duplicate_blueprint("ghost", "ghost-2")
    with pytest.raises(ConfigError) as example:
        await any_conductor.rename_blueprint("multi-step-automation", "renamed-example")
    assert "example" in example.value.message
    assert user_ids(home) == ["first", "taken"]


async def test_rename_and_delete_refused_while_another_blueprint_runs_it(
    any_conductor: Conductor, home: Path
) -> None:
    """A sub-blueprint call node (``blueprint.call``, ``blueprint_id``) references the
    blueprint it runs; no such type is built in yet, so the caller is written as a
    file (the library copies documents as they are, valid or not)."""
    await any_conductor.save_blueprint(chain("child"))
    caller = {
        "id": "parent",
        "nodes": [{"id": "call", "type": "blueprint.call", "params": {"blueprint_id": "child"}}],
    }
    (home / "blueprints" / "parent.json").write_text(json.dumps(caller))
    with pytest.raises(BlueprintConflictError) as refused:
        await any_conductor.rename_blueprint("child", "kid")
    assert "'parent'" in refused.value.message and refused.value.where == "blueprint_id"
    with pytest.raises(BlueprintConflictError):
        await any_conductor.delete_blueprint("child")
    assert user_ids(home) == ["child", "parent"]
    copy = await any_conductor.duplicate_blueprint("child", "kid")  # a copy breaks nothing
    assert copy.id == "kid"
    await any_conductor.rename_blueprint("parent", "caller")  # the caller itself may move
    (home / "blueprints" / "caller.json").unlink()
    await any_conductor.rename_blueprint("child", "child-renamed")
    assert user_ids(home) == ["child-renamed", "kid"]


async def test_execution_blueprint_is_the_one_that_ran(any_conductor: Conductor) -> None:
    """Past executions keep the id and document they ran under, whatever the library
    holds under that id now (renamed, changed, deleted)."""
    await any_conductor.save_blueprint(chain("flow", value=1, name="Flow v1"))
    first = await any_conductor.execute(blueprint_id="flow")
    assert first.success, first.error
    await any_conductor.save_blueprint(chain("flow", value=2, name="Flow v2"))
    inline = chain("flow", value=3)
    inline["ui"] = {"notes": [{"text": "kept"}]}  # editor data beside no positions
    second = await any_conductor.execute(blueprint=inline)
    await any_conductor.rename_blueprint("flow", "flow-renamed")
    ran = await any_conductor.execution_blueprint(first.execution_id)
    assert (ran.id, ran.name, ran.nodes[0].params) == ("flow", "Flow v1", {"value": 1})
    assert ran.ui.positions == {"a": (10.0, 20.0)}
    again = await any_conductor.execution_blueprint(second.execution_id)
    assert again.nodes[0].params == {"value": 3}
    assert again.ui.model_dump()["notes"] == [{"text": "kept"}]
    listed = await any_conductor.list_executions()
    assert {e.blueprint_id for e in listed} == {"flow"}
    with pytest.raises(ExecutionNotFoundError):
        await any_conductor.execution_blueprint("no-such-execution")


async def test_http_routes_validate_ids(home: Path, tmp_path: Path) -> None:
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        async with running_server(engine) as base, httpx.AsyncClient(base_url=base) as client:
            put = await client.put("/v1/blueprints/x", json=chain("x"), headers=AUTH)
            assert put.status_code == 200
            url = "/v1/blueprints/x/copy"
            bad_body = await client.post(url, json={"new_id": "y", "extra": 1}, headers=AUTH)
            assert bad_body.status_code in (400, 422)
            bad_id = await client.post(url, json={"new_id": "../y"}, headers=AUTH)
            assert bad_id.status_code == 422
            assert bad_id.json()["error"]["type"] == "ConfigError"
            bad_url = await client.post("/v1/blueprints/x%0A/copy", json={"new_id": "y"})
            assert bad_url.status_code == 401  # no token: nothing is read
            bad_url = await client.post(
                "/v1/blueprints/x%0A/copy", json={"new_id": "y"}, headers=AUTH
            )
            assert bad_url.status_code in (400, 404)
            moved = await client.post(url, json={"new_id": "y", "move": True}, headers=AUTH)
            assert moved.status_code == 200 and moved.json()["id"] == "y"
            conflict = await client.post(
                "/v1/blueprints/y/copy", json={"new_id": "y2"}, headers=AUTH
            )
            assert conflict.status_code == 200
            again = await client.post("/v1/blueprints/y/copy", json={"new_id": "y2"}, headers=AUTH)
            assert again.status_code == 409
            assert again.json()["error"]["type"] == "BlueprintConflictError"
            missing = await client.get("/v1/executions/nope/blueprint", headers=AUTH)
            assert missing.status_code == 404
    finally:
        await engine.close()
    assert user_ids(home) == ["y", "y2"]
