"""Bad input of every kind ends in a typed error naming what and where; nothing
already recorded is lost, and the engine keeps serving."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app import (
    Blueprint,
    BlueprintError,
    BlueprintNotFoundError,
    Conductor,
    ExecutionStatus,
    NodeSpec,
    create_simple_node,
)
from app.errors import ConfigError


def ok_blueprint() -> Blueprint:
    return Blueprint(id="ok", nodes=[NodeSpec(id="a", type="set", params={"value": 1})])


async def test_every_problem_is_reported_at_once_and_nothing_starts(
    conductor: Conductor,
) -> None:
    first = await conductor.execute(blueprint=ok_blueprint())
    broken: dict[str, Any] = {
        "id": "broken",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": 1}},
            {"id": "a", "type": "no.such.type"},
            {"id": "c", "type": "json.transform", "params": {"expression": 42}},
            {"id": "d", "type": "set", "params": {"value": "{{ nodes.ghost.output }}"}},
        ],
        "edges": [
            {"source": "a", "target": "missing"},
            {"source": "c", "target": "d"},
            {"source": "d", "target": "c"},
        ],
    }
    with pytest.raises(BlueprintError) as caught:
        await conductor.execute(blueprint=broken)
    places = {p.where.split(" ")[0] for p in caught.value.problems}
    assert {"nodes[1].id", "nodes[1].type", "edges[0].target"} <= places
    assert any(p.where.startswith("nodes[2].params") for p in caught.value.problems)
    assert any("cycle" in p.message for p in caught.value.problems)
    assert any("ghost" in p.message for p in caught.value.problems)
    listed = await conductor.list_executions()
    assert [s.execution_id for s in listed] == [first.execution_id]


async def test_unknown_fields_and_wrong_types_name_their_place(conductor: Conductor) -> None:
    with pytest.raises(BlueprintError) as caught:
        await conductor.execute(
            blueprint={
                "id": "x",
                "nodes": [{"id": "a", "type": "set", "retrys": 3, "timeout": "soon"}],
            }
        )
    wheres = [p.where for p in caught.value.problems]
    assert any(w.startswith("nodes[0].retrys") for w in wheres)
    assert any(w.startswith("nodes[0].timeout") for w in wheres)


async def test_unknown_blueprint_id_and_bad_ids(conductor: Conductor) -> None:
    with pytest.raises(BlueprintNotFoundError, match="no blueprint 'nope'"):
        await conductor.execute(blueprint_id="nope")
    with pytest.raises(BlueprintNotFoundError, match="not a valid blueprint id"):
        await conductor.execute(blueprint_id="../../etc/passwd")


async def test_bad_inputs_and_config(conductor: Conductor) -> None:
    bp = Blueprint(
        id="typed",
        inputs={"n": {"type": "integer", "required": True}},
        nodes=[NodeSpec(id="a", type="set", params={"value": "{{ inputs.n }}"})],
    )
    with pytest.raises(BlueprintError) as caught:
        await conductor.execute(blueprint=bp, inputs={"n": "seven", "extra": 1})
    assert {p.where for p in caught.value.problems} == {"inputs.n", "inputs.extra"}
    result = await conductor.execute(blueprint=bp, inputs={"n": "7"})
    assert result.outputs == 7
    with pytest.raises(ConfigError, match=r"config\.concurrency"):
        await conductor.execute(blueprint=bp, inputs={"n": 1}, config={"concurrency": 0})
    with pytest.raises(ConfigError, match=r"config\.bogus"):
        await conductor.execute(blueprint=bp, inputs={"n": 1}, config={"bogus": True})


async def test_a_database_that_cannot_be_opened_fails_the_node_clearly(
    conductor: Conductor, tmp_path: Path
) -> None:
    before = await conductor.execute(blueprint=ok_blueprint())
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    bp = Blueprint(
        id="db",
        nodes=[
            NodeSpec(id="rows", type="set", params={"value": [{"a": 1}]}),
            NodeSpec(
                id="save",
                type="sqlite.write",
                params={"database": str(blocker / "out.db"), "table": "t"},
            ),
        ],
    )
    result = await conductor.execute(blueprint=bp)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.node_id == "save"
    assert "out.db" in result.error.message
    again = await conductor.get_execution(before.execution_id)
    assert again.status is ExecutionStatus.COMPLETED


async def test_a_dead_http_endpoint_fails_the_node_clearly(conductor: Conductor) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/nothing"
    bp = Blueprint(id="dead", nodes=[NodeSpec(id="get", type="http.request", params={"url": url})])
    result = await conductor.execute(blueprint=bp)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and result.error.node_id == "get"
    assert url in result.error.message


async def test_unserialisable_outputs_fail_the_node_by_name(conductor: Conductor) -> None:
    """Issue 11 replaced the ``{"__unserializable__": repr}`` placeholder (recorded as
    a completed output) with a typed failure naming the node and the place."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    async def make(value: Any) -> Any:
        return Opaque()

    result = await conductor.execute(
        blueprint=Blueprint(id="opaque", nodes=[create_simple_node("o", "o", make)])
    )
    assert not result.success
    assert result.error is not None and result.error.type == "NodeOutputError"
    assert result.error.node_id == "o" and "at $:" in result.error.message
    stored = await conductor.get_execution(result.execution_id)
    assert stored.status is ExecutionStatus.FAILED
    assert stored.nodes["o"].error is not None


async def test_the_store_stays_whole_after_failures(conductor: Conductor, home: Path) -> None:
    async def boom(value: Any) -> None:
        raise RuntimeError("bad")

    for _ in range(3):
        await conductor.execute(
            blueprint=Blueprint(id="b", nodes=[create_simple_node("x", "x", boom)])
        )
    await conductor.execute(blueprint=ok_blueprint())
    assert len(await conductor.list_executions()) == 4
    conn = sqlite3.connect(home / "conductor.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


async def test_a_store_that_refuses_writes_is_reported_not_hidden(
    conductor: Conductor, home: Path
) -> None:
    from app.errors import StoreError

    before = await conductor.execute(blueprint=ok_blueprint())
    conn = sqlite3.connect(home / "conductor.db")
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON chunks WHEN NEW.key % 2 = 1"  # node outcomes
        " BEGIN SELECT RAISE(ABORT, 'simulated full disk'); END"
    )
    conn.commit()
    try:
        with pytest.raises(StoreError, match=r"could not record it: .*simulated full disk"):
            await conductor.execute(blueprint=ok_blueprint())
    finally:
        conn.execute("DROP TRIGGER refuse")
        conn.commit()
        conn.close()
    after = await conductor.execute(blueprint=ok_blueprint())
    assert after.success
    kept = await conductor.get_execution(before.execution_id)
    assert kept.outputs == 1
