"""The seed's StateManager with ``persist=True``: a real SQLite file in the data dir,
the engine's rows and gap-free events, read back by the engine and by another
manager — and the engine's own runs seen through a persisted manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import create_simple_node
from app.blueprint import Blueprint, NodeSpec
from app.errors import ConfigError
from main_process import StateManager
from main_process.engine.engine import Engine

EID = "persisted-1"


@pytest.fixture
def data_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONDUCTOR_HOME", str(home))
    return home


def record_one(manager: StateManager) -> None:
    manager.initialize_execution(EID, "bp")
    manager.update_execution_state(EID, status="running")
    manager.update_node_state(EID, "n", "running")
    manager.set_variable(EID, "k", {"deep": [1, 2]})
    manager.create_checkpoint(EID, "n")
    manager.update_node_state(EID, "n", "completed")
    manager.update_execution_state(EID, status="completed")


async def test_persist_records_into_the_data_dirs_store(data_home: Path) -> None:
    manager = StateManager(persist=True)
    assert manager.persist
    record_one(manager)
    assert [e.seq for e in manager.events(EID)] == list(range(1, 8))
    manager.shutdown()
    assert (data_home / "conductor.db").is_file()

    engine = Engine(data_home, plugins=False)  # another reader of the same file
    try:
        result = await engine.get_execution(EID)
        assert (result.blueprint_id, result.status) == ("bp", "completed")
        assert result.nodes["n"].status == "completed"
        assert result.finished_at is not None
        assert engine.states.get_variable(EID, "k") == {"deep": [1, 2]}
        events = await engine.recorded_events(EID)
        assert [e.seq for e in events] == list(range(1, 8))
        assert [(e.kind, e.status) for e in events][-1] == ("execution", "completed")
    finally:
        await engine.close()


def test_another_manager_loads_what_was_recorded(data_home: Path) -> None:
    first = StateManager(persist=True)
    record_one(first)
    first.shutdown()

    second = StateManager(persist=True)
    loaded: list[dict[str, Any]] = []
    second.on("state:loaded", loaded.append)
    assert second.get_execution_state(EID) is None  # not held until loaded
    assert second.load_execution_states() == 1
    assert loaded == [{"count": 1}]
    state = second.get_execution_state(EID)
    assert state is not None
    assert (state.blueprint_id, state.status) == ("bp", "completed")
    assert state.node_states["n"].status == "completed"
    assert state.node_states["n"].end_time is not None
    assert state.variables == {"k": {"deep": [1, 2]}}
    assert state.end_time is not None
    assert second.load_execution_states() == 0  # already held
    # Clearing forgets it here; the record stays in the store.
    assert second.clear_completed_executions() == 1
    assert second.get_execution_state(EID) is None
    assert [e.seq for e in second.events(EID)] == list(range(1, 8))
    second.shutdown()


async def test_an_engine_run_is_seen_through_a_persisted_manager(data_home: Path) -> None:
    async def remember(value: Any, ctx: Any) -> Any:
        ctx.set_variable("seen", value)
        return value

    blueprint = Blueprint(
        id="engine-run",
        nodes=[
            NodeSpec(id="a", type="set", params={"value": {"n": 1}}),
            create_simple_node("b", "remember", remember),
        ],
    )
    engine = Engine(plugins=False)  # on $CONDUCTOR_HOME
    try:
        result = await engine.execute(blueprint=blueprint)
        assert result.success
    finally:
        await engine.close()

    manager = StateManager(persist=True)
    assert manager.load_execution_states() == 1
    state = manager.get_execution_state(result.execution_id)
    assert state is not None
    assert (state.blueprint_id, state.status) == ("engine-run", "completed")
    assert {nid: n.status for nid, n in state.node_states.items()} == {
        "a": "completed",
        "b": "completed",
    }
    assert state.variables == {"seen": {"n": 1}}
    events = manager.events(result.execution_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [(e.kind, e.node_id, e.status) for e in events if e.kind == "node"] == [
        ("node", "a", "running"),
        ("node", "a", "completed"),
        ("node", "b", "running"),
        ("node", "b", "completed"),
    ]
    manager.shutdown()


async def test_a_manager_on_an_engines_store(home: Path) -> None:
    """``store=`` records into a store already open: the engine reads it at once."""
    engine = Engine(home, plugins=False)
    try:
        manager = StateManager(store=engine.store)
        assert manager.persist
        record_one(manager)
        result = await engine.get_execution(EID)
        assert result.status == "completed"
        assert [e.seq for e in await engine.recorded_events(EID)] == list(range(1, 8))
        manager.shutdown()  # not its store: left open for the engine
        assert (await engine.execute(blueprint={"id": "x", "nodes": []})).success
    finally:
        await engine.close()


def test_a_persisted_manager_refuses_an_id_the_store_has(data_home: Path) -> None:
    first = StateManager(persist=True)
    record_one(first)
    with pytest.raises(ConfigError) as held:
        first.initialize_execution(EID, "other")
    assert held.value.where == "execution_id"
    first.shutdown()
    second = StateManager(persist=True)
    with pytest.raises(ConfigError):
        second.initialize_execution(EID, "other")  # not held here, but recorded
    second.initialize_execution("fresh", "bp")  # the store still takes writes
    second.set_variable("fresh", "k", 1)
    assert [e.seq for e in second.events("fresh")] == [1, 2]
    second.shutdown()
    third = StateManager(persist=True)
    assert third.load_execution_states() == 2
    third.shutdown()


def test_in_memory_an_id_starts_over() -> None:
    manager = StateManager()
    manager.initialize_execution(EID, "bp")
    manager.set_variable(EID, "k", 1)
    manager.initialize_execution(EID, "bp2")
    state = manager.get_execution_state(EID)
    assert state is not None
    assert (state.blueprint_id, state.variables) == ("bp2", {})
