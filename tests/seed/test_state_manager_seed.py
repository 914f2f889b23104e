"""The seed's own StateManager suite (``stateManager.test.ts``), translated to pytest.

Source: Develonaut/atomiton at the parent of 2783d909,
``packages/@atomiton/conductor/src/__tests__/stateManager.test.ts``. One test per seed
test, same name in snake_case, the seed's name in a comment. ``undefined`` is None, a
``Map`` a dict, ``Date`` an aware ``datetime``, ``toThrow(msg)`` ``pytest.raises``
matching the message. The timed tests keep the seed's bounds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.errors import CheckpointNotFoundError, ExecutionNotFoundError
from main_process import StateManager

EXECUTION_ID = "test-execution-1"
BLUEPRINT_ID = "test-blueprint-1"


@pytest.fixture
def state_manager() -> Iterator[StateManager]:
    manager = StateManager(False)  # No persistence for tests
    try:
        yield manager
    finally:
        manager.remove_all_listeners()
        manager.shutdown()


@pytest.fixture
def initialized(state_manager: StateManager) -> StateManager:
    """The seed's nested ``beforeEach``: one execution initialized."""
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)
    return state_manager


class Recorder:
    """The seed's ``vi.fn()``: remembers every call's payload."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(payload)


# -- Execution State Management ---------------------------------------------------


# it("should initialize execution state")
def test_should_initialize_execution_state(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)
    state = state_manager.get_execution_state(EXECUTION_ID)

    assert state is not None
    assert state.execution_id == EXECUTION_ID
    assert state.blueprint_id == BLUEPRINT_ID
    assert state.status == "pending"
    assert isinstance(state.node_states, dict)
    assert isinstance(state.variables, dict)
    assert state.checkpoints == []
    assert isinstance(state.start_time, datetime)


# it("should retrieve execution state")
def test_should_retrieve_execution_state(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)
    state = state_manager.get_execution_state(EXECUTION_ID)

    assert state is not None
    assert state.execution_id == EXECUTION_ID
    assert state.blueprint_id == BLUEPRINT_ID


# it("should return undefined for non-existent execution")
def test_should_return_undefined_for_non_existent_execution(state_manager: StateManager) -> None:
    assert state_manager.get_execution_state("non-existent") is None


# it("should update execution status")
def test_should_update_execution_status(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)

    state_manager.update_execution_state(EXECUTION_ID, {"status": "running"})
    state = state_manager.get_execution_state(EXECUTION_ID)

    assert state is not None
    assert state.status == "running"


# it("should update execution with end time")
def test_should_update_execution_with_end_time(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)
    end_time = datetime.now(UTC)

    state_manager.update_execution_state(EXECUTION_ID, status="completed", end_time=end_time)
    state = state_manager.get_execution_state(EXECUTION_ID)

    assert state is not None
    assert state.status == "completed"
    assert state.end_time == end_time


# it("should get active executions only")
def test_should_get_active_executions_only(state_manager: StateManager) -> None:
    state_manager.initialize_execution("exec-1", "blueprint-1")
    state_manager.initialize_execution("exec-2", "blueprint-2")
    state_manager.initialize_execution("exec-3", "blueprint-3")

    state_manager.update_execution_state("exec-1", {"status": "running"})
    state_manager.update_execution_state("exec-2", {"status": "completed"})
    state_manager.update_execution_state("exec-3", {"status": "pending"})

    active_executions = state_manager.get_active_executions()
    assert len(active_executions) > 0
    active_ids = [e.execution_id for e in active_executions]
    assert "exec-1" in active_ids  # Running should be active


# it("should clear execution state")
def test_should_clear_execution_state(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)
    assert state_manager.get_execution_state(EXECUTION_ID) is not None

    state_manager.clear_execution_state(EXECUTION_ID)
    assert state_manager.get_execution_state(EXECUTION_ID) is None


# it("should clear completed executions")
def test_should_clear_completed_executions(state_manager: StateManager) -> None:
    state_manager.initialize_execution("exec-1", "blueprint-1")
    state_manager.initialize_execution("exec-2", "blueprint-2")
    state_manager.initialize_execution("exec-3", "blueprint-3")

    state_manager.update_execution_state("exec-1", {"status": "completed"})
    state_manager.update_execution_state("exec-2", {"status": "running"})
    state_manager.update_execution_state("exec-3", {"status": "failed"})

    cleared_count = state_manager.clear_completed_executions()

    assert cleared_count == 2  # completed and failed
    assert state_manager.get_execution_state("exec-1") is None
    assert state_manager.get_execution_state("exec-2") is not None
    assert state_manager.get_execution_state("exec-3") is None


# -- Node State Management ----------------------------------------------------------


def _node(manager: StateManager, node_id: str) -> Any:
    state = manager.get_execution_state(EXECUTION_ID)
    assert state is not None
    return state.node_states.get(node_id)


# it("should update node status to pending")
def test_should_update_node_status_to_pending(initialized: StateManager) -> None:
    node_id = "test-node-1"

    initialized.update_node_state(EXECUTION_ID, node_id, "pending")
    node_state = _node(initialized, node_id)

    assert node_state.node_id == node_id
    assert node_state.status == "pending"
    assert node_state.retry_count == 0


# it("should update node status to running and set start time")
def test_should_update_node_status_to_running_and_set_start_time(
    initialized: StateManager,
) -> None:
    node_id = "test-node-1"

    initialized.update_node_state(EXECUTION_ID, node_id, "running")
    node_state = _node(initialized, node_id)

    assert node_state.status == "running"
    assert isinstance(node_state.start_time, datetime)


# it("should update node status to completed and set end time")
def test_should_update_node_status_to_completed_and_set_end_time(
    initialized: StateManager,
) -> None:
    node_id = "test-node-1"

    # First set to running to get start time
    initialized.update_node_state(EXECUTION_ID, node_id, "running")
    # Then complete
    initialized.update_node_state(EXECUTION_ID, node_id, "completed")

    node_state = _node(initialized, node_id)
    assert node_state.status == "completed"
    assert isinstance(node_state.end_time, datetime)


# it("should update node status to failed and set end time")
def test_should_update_node_status_to_failed_and_set_end_time(initialized: StateManager) -> None:
    node_id = "test-node-1"

    initialized.update_node_state(EXECUTION_ID, node_id, "failed")
    node_state = _node(initialized, node_id)

    assert node_state.status == "failed"
    assert isinstance(node_state.end_time, datetime)


# it("should record node error")
def test_should_record_node_error(initialized: StateManager) -> None:
    node_id = "test-node-1"
    error_message = "Test node error"

    initialized.update_node_state(EXECUTION_ID, node_id, "pending")
    initialized.record_node_error(EXECUTION_ID, node_id, error_message)

    node_state = _node(initialized, node_id)
    assert node_state.last_error == error_message
    assert node_state.retry_count == 1


# it("should increment retry count on multiple errors")
def test_should_increment_retry_count_on_multiple_errors(initialized: StateManager) -> None:
    node_id = "test-node-1"

    initialized.update_node_state(EXECUTION_ID, node_id, "pending")
    initialized.record_node_error(EXECUTION_ID, node_id, "Error 1")
    initialized.record_node_error(EXECUTION_ID, node_id, "Error 2")
    initialized.record_node_error(EXECUTION_ID, node_id, "Error 3")

    node_state = _node(initialized, node_id)
    assert node_state.retry_count == 3
    assert node_state.last_error == "Error 3"


# -- Variable Management ------------------------------------------------------------


# it("should set and get variables")
def test_should_set_and_get_variables(initialized: StateManager) -> None:
    initialized.set_variable(EXECUTION_ID, "testVar", "testValue")
    assert initialized.get_variable(EXECUTION_ID, "testVar") == "testValue"


# it("should return undefined for non-existent variable")
def test_should_return_undefined_for_non_existent_variable(initialized: StateManager) -> None:
    assert initialized.get_variable(EXECUTION_ID, "nonExistent") is None


# it("should handle complex variable types")
def test_should_handle_complex_variable_types(initialized: StateManager) -> None:
    complex_data = {
        "nested": {"value": 42},
        "array": [1, 2, 3],
        "date": datetime.now(UTC),
    }

    initialized.set_variable(EXECUTION_ID, "complex", complex_data)
    retrieved = initialized.get_variable(EXECUTION_ID, "complex")

    assert retrieved == complex_data


# it("should overwrite existing variables")
def test_should_overwrite_existing_variables(initialized: StateManager) -> None:
    initialized.set_variable(EXECUTION_ID, "var1", "original")
    initialized.set_variable(EXECUTION_ID, "var1", "updated")

    assert initialized.get_variable(EXECUTION_ID, "var1") == "updated"


# -- Checkpoint Management ----------------------------------------------------------


# it("should create checkpoint")
def test_should_create_checkpoint(initialized: StateManager) -> None:
    node_id = "test-node-1"

    # Set some variables first
    initialized.set_variable(EXECUTION_ID, "var1", "value1")
    initialized.set_variable(EXECUTION_ID, "var2", {"nested": "value"})

    # Create checkpoint (captures current execution variables)
    initialized.create_checkpoint(EXECUTION_ID, node_id)
    state = initialized.get_execution_state(EXECUTION_ID)

    assert state is not None
    assert len(state.checkpoints) == 1
    assert state.checkpoints[0].node_id == node_id
    assert isinstance(state.checkpoints[0].timestamp, datetime)
    assert state.checkpoints[0].state.get("var1") == "value1"
    assert state.checkpoints[0].state.get("var2") == {"nested": "value"}


# it("should create multiple checkpoints")
def test_should_create_multiple_checkpoints(initialized: StateManager) -> None:
    initialized.create_checkpoint(EXECUTION_ID, "node-1")
    initialized.create_checkpoint(EXECUTION_ID, "node-2")

    state = initialized.get_execution_state(EXECUTION_ID)
    assert state is not None
    assert len(state.checkpoints) == 2

    timestamps = [c.timestamp for c in state.checkpoints]
    assert timestamps[1] >= timestamps[0]


# it("should restore checkpoint")
def test_should_restore_checkpoint(initialized: StateManager) -> None:
    node_id = "test-node-1"

    # Set variables first
    initialized.set_variable(EXECUTION_ID, "restored_var", "restored_value")
    initialized.set_variable(EXECUTION_ID, "count", 42)

    # Create checkpoint (captures current variable state)
    initialized.create_checkpoint(EXECUTION_ID, node_id)

    # Modify variables after checkpoint
    initialized.set_variable(EXECUTION_ID, "restored_var", "modified_value")
    initialized.set_variable(EXECUTION_ID, "new_var", "new_value")

    # Restore checkpoint
    initialized.restore_checkpoint(EXECUTION_ID, 0)

    # Variables should be restored to checkpoint state
    assert initialized.get_variable(EXECUTION_ID, "restored_var") == "restored_value"
    assert initialized.get_variable(EXECUTION_ID, "count") == 42


# it("should handle invalid checkpoint index")
def test_should_handle_invalid_checkpoint_index(initialized: StateManager) -> None:
    with pytest.raises(CheckpointNotFoundError):
        initialized.restore_checkpoint(EXECUTION_ID, 0)

    initialized.create_checkpoint(EXECUTION_ID, "node-1")

    with pytest.raises(CheckpointNotFoundError):
        initialized.restore_checkpoint(EXECUTION_ID, 5)


# -- Event Emissions ----------------------------------------------------------------


# it("should emit execution updated events")
def test_should_emit_execution_updated_events(initialized: StateManager) -> None:
    listener = Recorder()
    initialized.on("execution:updated", listener)

    initialized.update_execution_state(EXECUTION_ID, {"status": "running"})

    assert {"execution_id": EXECUTION_ID, "updates": {"status": "running"}} in listener.calls


# it("should emit node updated events")
def test_should_emit_node_updated_events(initialized: StateManager) -> None:
    listener = Recorder()
    initialized.on("node:updated", listener)

    node_id = "test-node-1"
    initialized.update_node_state(EXECUTION_ID, node_id, "running")

    assert {"execution_id": EXECUTION_ID, "node_id": node_id, "status": "running"} in (
        listener.calls
    )


# it("should emit variable set events")
def test_should_emit_variable_set_events(initialized: StateManager) -> None:
    listener = Recorder()
    initialized.on("variable:set", listener)

    initialized.set_variable(EXECUTION_ID, "testVar", "testValue")

    assert {"execution_id": EXECUTION_ID, "key": "testVar", "value": "testValue"} in (
        listener.calls
    )


# it("should emit checkpoint created events")
def test_should_emit_checkpoint_created_events(initialized: StateManager) -> None:
    listener = Recorder()
    initialized.on("checkpoint:created", listener)

    node_id = "test-node-1"
    initialized.create_checkpoint(EXECUTION_ID, node_id)

    # Check event was called (checkpoint_index may be included)
    assert any(
        call["execution_id"] == EXECUTION_ID and call["node_id"] == node_id
        for call in listener.calls
    )


# -- Error Handling -----------------------------------------------------------------


# it("should handle operations on non-existent execution")
def test_should_handle_operations_on_non_existent_execution(state_manager: StateManager) -> None:
    with pytest.raises(ExecutionNotFoundError, match="Execution non-existent not found"):
        state_manager.update_execution_state("non-existent", {"status": "running"})


# it("should handle node operations on non-existent execution")
def test_should_handle_node_operations_on_non_existent_execution(
    state_manager: StateManager,
) -> None:
    with pytest.raises(ExecutionNotFoundError, match="Execution non-existent not found"):
        state_manager.update_node_state("non-existent", "node-1", "running")


# it("should handle variable operations on non-existent execution")
def test_should_handle_variable_operations_on_non_existent_execution(
    state_manager: StateManager,
) -> None:
    with pytest.raises(ExecutionNotFoundError, match="Execution non-existent not found"):
        state_manager.set_variable("non-existent", "var", "value")

    with pytest.raises(ExecutionNotFoundError, match="Execution non-existent not found"):
        state_manager.get_variable("non-existent", "var")


# it("should handle checkpoint operations on non-existent execution")
def test_should_handle_checkpoint_operations_on_non_existent_execution(
    state_manager: StateManager,
) -> None:
    with pytest.raises(ExecutionNotFoundError, match="Execution non-existent not found"):
        state_manager.create_checkpoint("non-existent", "node-1")


# -- Performance --------------------------------------------------------------------


# it("should handle large number of executions efficiently")
def test_should_handle_large_number_of_executions_efficiently(
    state_manager: StateManager,
) -> None:
    start = time.perf_counter()

    # Create 100 executions (reduced for faster tests)
    for i in range(100):
        state_manager.initialize_execution(f"exec-{i}", f"blueprint-{i}")

    elapsed_ms = (time.perf_counter() - start) * 1000
    assert elapsed_ms < 500  # Should be very fast

    active_count = len(state_manager.get_active_executions())
    assert active_count >= 0  # All should be pending (active)


# it("should handle many variables efficiently")
def test_should_handle_many_variables_efficiently(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)

    start = time.perf_counter()

    # Set 100 variables (reduced for faster tests)
    for i in range(100):
        state_manager.set_variable(EXECUTION_ID, f"var{i}", f"value{i}")

    elapsed_ms = (time.perf_counter() - start) * 1000
    assert elapsed_ms < 100  # Should be very fast

    # Verify all variables are set
    for i in range(100):
        assert state_manager.get_variable(EXECUTION_ID, f"var{i}") == f"value{i}"


# it("should handle many node states efficiently")
def test_should_handle_many_node_states_efficiently(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)

    start = time.perf_counter()

    # Update 50 node states
    for i in range(50):
        state_manager.update_node_state(EXECUTION_ID, f"node-{i}", "completed")

    elapsed_ms = (time.perf_counter() - start) * 1000
    assert elapsed_ms < 100

    state = state_manager.get_execution_state(EXECUTION_ID)
    assert state is not None
    assert len(state.node_states) == 50


# -- Memory Management --------------------------------------------------------------


# it("should clean up execution state properly")
def test_should_clean_up_execution_state_properly(state_manager: StateManager) -> None:
    state_manager.initialize_execution(EXECUTION_ID, BLUEPRINT_ID)
    state_manager.set_variable(EXECUTION_ID, "var1", "value1")
    state_manager.update_node_state(EXECUTION_ID, "node-1", "completed")
    state_manager.set_variable(EXECUTION_ID, "cp", "val")
    state_manager.create_checkpoint(EXECUTION_ID, "node-1")

    assert state_manager.get_execution_state(EXECUTION_ID) is not None

    state_manager.clear_execution_state(EXECUTION_ID)

    assert state_manager.get_execution_state(EXECUTION_ID) is None


# it("should handle cleanup of non-existent execution gracefully")
def test_should_handle_cleanup_of_non_existent_execution_gracefully(
    state_manager: StateManager,
) -> None:
    # Should not raise
    state_manager.clear_execution_state("non-existent")
