"""The seed's StateManager beyond its own suite: every method and event one by one,
with exact payloads, the errors, and nothing written in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.errors import CheckpointNotFoundError, ConfigError, ExecutionNotFoundError
from app.events import Event
from main_process import StateManager, create_state_manager

EID = "exec-1"
BID = "blueprint-1"


class Heard:
    """Every seed event, in order, as ``(name, payload)``."""

    NAMES = (
        "execution:initialized",
        "execution:updated",
        "node:updated",
        "node:error",
        "variable:set",
        "checkpoint:created",
        "checkpoint:restored",
        "context:updated",
        "data:set",
        "execution:cleared",
        "state:loaded",
    )

    def __init__(self, manager: StateManager) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        for name in self.NAMES:
            manager.on(name, lambda payload, name=name: self.events.append((name, payload)))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        taken, self.events = self.events, []
        return taken


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StateManager]:
    # In memory: a data dir that must never appear.
    monkeypatch.setenv("CONDUCTOR_HOME", str(tmp_path / "never"))
    m = create_state_manager()
    try:
        yield m
    finally:
        m.shutdown()
        assert not (tmp_path / "never").exists()


def test_each_method_emits_its_event_with_the_seeds_payload(manager: StateManager) -> None:
    heard = Heard(manager)
    manager.initialize_execution(EID, BID)
    assert heard.take() == [("execution:initialized", {"execution_id": EID, "blueprint_id": BID})]

    manager.update_execution_state(EID, status="running")
    assert heard.take() == [
        ("execution:updated", {"execution_id": EID, "updates": {"status": "running"}})
    ]
    end = datetime.now(UTC)
    manager.update_execution_state(EID, {"end_time": end})
    assert heard.take() == [
        ("execution:updated", {"execution_id": EID, "updates": {"end_time": end}})
    ]

    manager.update_node_state(EID, "n", "running")
    assert heard.take() == [
        ("node:updated", {"execution_id": EID, "node_id": "n", "status": "running"})
    ]
    manager.record_node_error(EID, "n", "boom")
    assert heard.take() == [("node:error", {"execution_id": EID, "node_id": "n", "error": "boom"})]

    manager.set_variable(EID, "k", [1, 2])
    assert heard.take() == [("variable:set", {"execution_id": EID, "key": "k", "value": [1, 2]})]
    manager.set_data(EID, "d", {"x": 1})
    assert heard.take() == [("data:set", {"execution_id": EID, "key": "d", "value": {"x": 1}})]

    assert manager.create_checkpoint(EID, "n") == 0
    assert manager.create_checkpoint(EID, "m") == 1
    assert heard.take() == [
        ("checkpoint:created", {"execution_id": EID, "node_id": "n", "checkpoint_index": 0}),
        ("checkpoint:created", {"execution_id": EID, "node_id": "m", "checkpoint_index": 1}),
    ]
    manager.restore_checkpoint(EID, 1)
    assert heard.take() == [("checkpoint:restored", {"execution_id": EID, "checkpoint_index": 1})]

    manager.update_context(EID, {"variables": {"v": 1}})
    assert heard.take() == [
        ("context:updated", {"execution_id": EID, "updates": {"variables": {"v": 1}}})
    ]

    manager.clear_execution_state(EID)
    manager.clear_execution_state("unknown")  # the seed emits for an unknown id too
    assert heard.take() == [
        ("execution:cleared", {"execution_id": EID}),
        ("execution:cleared", {"execution_id": "unknown"}),
    ]
    # In memory there is nothing to load, and no event (as in the seed).
    assert manager.load_execution_states() == 0
    assert heard.take() == []


def test_off_emit_and_a_failing_listener(manager: StateManager) -> None:
    calls: list[dict[str, Any]] = []

    def failing(payload: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    manager.on("custom", failing)
    manager.on("custom", calls.append)
    manager.emit("custom", {"a": 1})
    assert calls == [{"a": 1}]  # the failing listener did not stop the next one
    manager.off("custom", calls.append)
    manager.off("custom", calls.append)  # twice is harmless
    manager.emit("custom", {"a": 2})
    assert calls == [{"a": 1}]
    manager.on("custom", calls.append)
    manager.remove_all_listeners("custom")
    manager.emit("custom", {"a": 3})
    manager.on("custom", calls.append)
    manager.shutdown()  # removes every listener
    manager.emit("custom", {"a": 4})
    assert calls == [{"a": 1}]


def test_updates_by_keyword_or_mapping_and_bad_updates(manager: StateManager) -> None:
    manager.initialize_execution(EID, BID)
    before = manager.get_execution_state(EID)
    assert before is not None and before.end_time is None
    end = datetime.now(UTC) + timedelta(seconds=5)
    manager.update_execution_state(EID, {"status": "completed", "end_time": end})
    state = manager.get_execution_state(EID)
    assert state is not None
    assert (state.status, state.end_time) == ("completed", end)
    assert state.end_time.tzinfo is not None
    # An end time alone keeps the status.
    later = end + timedelta(seconds=1)
    manager.update_execution_state(EID, end_time=later)
    state = manager.get_execution_state(EID)
    assert state is not None and (state.status, state.end_time) == ("completed", later)

    with pytest.raises(ConfigError) as unknown_key:
        manager.update_execution_state(EID, {"colour": "red"})
    assert unknown_key.value.where == "colour"
    with pytest.raises(ConfigError) as bad_status:
        manager.update_execution_state(EID, status="sleeping")
    assert bad_status.value.where == "status"
    with pytest.raises(ConfigError):
        manager.update_node_state(EID, "n", "sleeping")
    with pytest.raises(ConfigError):
        manager.update_context(EID, {"variables": [1]})


def test_active_executions_are_the_running_ones(manager: StateManager) -> None:
    for eid, status in [("p", "pending"), ("r", "running"), ("c", "completed"), ("f", "failed")]:
        manager.initialize_execution(eid, BID)
        manager.update_execution_state(eid, status=status)
    assert [s.execution_id for s in manager.get_active_executions()] == ["r"]
    assert manager.clear_completed_executions() == 2
    assert manager.clear_completed_executions() == 0
    assert manager.get_execution_state("p") is not None
    assert manager.get_execution_state("r") is not None


def test_every_operation_on_an_unknown_execution_says_so(manager: StateManager) -> None:
    operations = [
        lambda: manager.update_execution_state("nope", status="running"),
        lambda: manager.update_node_state("nope", "n", "running"),
        lambda: manager.record_node_error("nope", "n", "e"),
        lambda: manager.set_variable("nope", "k", 1),
        lambda: manager.get_variable("nope", "k"),
        lambda: manager.create_checkpoint("nope", "n"),
        lambda: manager.restore_checkpoint("nope", 0),
        lambda: manager.update_context("nope", {"status": "running"}),
        lambda: manager.set_data("nope", "k", 1),
    ]
    for operation in operations:
        with pytest.raises(ExecutionNotFoundError) as error:
            operation()
        assert error.value.message == "Execution nope not found"
        assert not isinstance(error.value, KeyError)
    assert manager.get_execution_state("nope") is None
    assert manager.get_context("nope") is None


def test_node_state_times_and_errors(manager: StateManager) -> None:
    manager.initialize_execution(EID, BID)
    manager.update_node_state(EID, "n", "running")
    first = manager.get_execution_state(EID)
    assert first is not None
    node = first.node_states["n"]
    assert node.start_time is not None and node.end_time is None
    assert node.start_time.tzinfo is UTC
    manager.update_node_state(EID, "n", "running")  # a second "running" keeps the start
    manager.update_node_state(EID, "n", "completed")
    state = manager.get_execution_state(EID)
    assert state is not None
    done = state.node_states["n"]
    assert done.start_time == node.start_time
    assert done.end_time is not None and done.end_time >= done.start_time
    # An error on a node never seen creates its state.
    manager.record_node_error(EID, "fresh", "first error")
    state = manager.get_execution_state(EID)
    assert state is not None
    fresh = state.node_states["fresh"]
    assert (fresh.status, fresh.retry_count, fresh.last_error) == ("pending", 1, "first error")


def test_checkpoints_snapshot_and_restore_the_variables(manager: StateManager) -> None:
    manager.initialize_execution(EID, BID)
    manager.set_variable(EID, "a", 1)
    manager.create_checkpoint(EID, "n1")
    manager.set_variable(EID, "a", 2)
    manager.set_variable(EID, "b", 3)
    state = manager.get_execution_state(EID)
    assert state is not None
    assert state.checkpoints[0].state == {"a": 1}  # a snapshot, not the live variables
    manager.restore_checkpoint(EID, 0)
    assert manager.get_variable(EID, "a") == 1
    assert manager.get_variable(EID, "b") is None  # set after the checkpoint: gone
    for bad in (1, -1):
        with pytest.raises(CheckpointNotFoundError) as error:
            manager.restore_checkpoint(EID, bad)
        assert error.value.message == f"Checkpoint {bad} not found"


def test_contexts(manager: StateManager) -> None:
    created = manager.create_context(EID, BID)
    assert (created.execution_id, created.blueprint_id, created.status) == (EID, BID, "pending")
    end = datetime.now(UTC)
    manager.update_context(EID, {"status": "failed", "end_time": end, "variables": {"x": 1}})
    context = manager.get_context(EID)
    assert context is not None
    assert (context.status, context.end_time, context.variables) == ("failed", end, {"x": 1})


def test_the_recorder_underneath_numbers_every_change(manager: StateManager) -> None:
    recorded: list[Event] = []
    manager.recorder.subscribe(recorded.append)
    manager.initialize_execution(EID, BID)
    manager.update_execution_state(EID, status="running")
    manager.update_node_state(EID, "n", "running")
    manager.record_node_error(EID, "n", "oops")
    manager.set_variable(EID, "k", 1)
    manager.create_checkpoint(EID, "n")
    manager.update_node_state(EID, "n", "completed")
    manager.update_execution_state(EID, status="completed")
    assert [e.seq for e in recorded] == list(range(1, 9))
    assert [(e.kind, e.node_id, e.status) for e in recorded] == [
        ("execution", None, "pending"),
        ("execution", None, "running"),
        ("node", "n", "running"),
        ("node", "n", "running"),
        ("variable", None, None),
        ("checkpoint", None, None),
        ("node", "n", "completed"),
        ("execution", None, "completed"),
    ]
    assert recorded[3].data is not None
    assert recorded[3].data["error"]["message"] == "oops"
    assert [e.seq for e in manager.events(EID)] == list(range(1, 9))
    assert [e.seq for e in manager.events(EID, after_seq=6)] == [7, 8]
