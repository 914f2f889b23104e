"""Error handlers on a real engine and store: interrupted runs start none until a
resume fails; a handler's declared inputs get their part of the failure; a handler
that cannot start is not forgotten; the library keeps a handler others name."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from app.errors import BlueprintConflictError
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine

BOOM = "tests.node_functions:boom"
HANDLER: dict[str, Any] = {
    "id": "on-failure",
    "nodes": [{"id": "note", "type": "set", "params": {"value": "{{ inputs.node_id }}"}}],
    "outputs": {"node": "note"},
}


def failing(seconds: float = 0.0) -> dict[str, Any]:
    return {
        "id": "fragile",
        "error_handler": "on-failure",
        "nodes": [
            {"id": "wait", "type": "delay", "params": {"seconds": seconds}},
            {"id": "bad", "type": "python.function", "params": {"function": BOOM}},
        ],
    }


async def _until_running(engine: Engine, eid: str, node_id: str) -> None:
    for _ in range(1500):
        result = await engine.get_execution(eid)
        if result.nodes[node_id].status is NodeStatus.RUNNING:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{node_id} never ran")


async def _handlers(engine: Engine) -> list[str]:
    return [
        s.execution_id for s in await engine.list_executions() if s.blueprint_id == "on-failure"
    ]


async def test_interrupted_starts_none_until_its_resume_fails(home: Path, tmp_path: Path) -> None:
    first = Engine(home, base_dir=tmp_path, plugins=False)
    await first.save_blueprint(HANDLER)
    eid = await first.start(blueprint=failing(seconds=0.3))
    await _until_running(first, eid, "wait")
    await first.close()  # the engine shuts down: interrupted, resumable
    second = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        interrupted = await second.get_execution(eid)
        assert interrupted.status is ExecutionStatus.INTERRUPTED
        assert interrupted.error_handler_execution_id is None
        assert await _handlers(second) == []
        resumed = await second.resume(eid)
        assert resumed.status is ExecutionStatus.FAILED
        assert resumed.error_handler_execution_id is not None
        handled = await second.wait(resumed.error_handler_execution_id)
        assert handled.outputs == {"node": "bad"}
        assert await _handlers(second) == [resumed.error_handler_execution_id]
    finally:
        await second.close()


async def test_declared_inputs_get_their_part_of_the_failure(engine: Engine) -> None:
    await engine.save_blueprint(
        {
            "id": "on-failure",
            "inputs": {
                "node_id": {"type": "string", "default": "none"},
                "error": {"type": "object", "required": True},
            },
            "nodes": [{"id": "keep", "type": "set", "params": {"value": "{{ inputs }}"}}],
        }
    )
    failed = await engine.execute(blueprint=failing())
    assert failed.error_handler_execution_id is not None
    handled = await engine.wait(failed.error_handler_execution_id)
    assert handled.status is ExecutionStatus.COMPLETED, handled.error
    assert set(handled.inputs) == {"node_id", "error"}
    assert handled.inputs["node_id"] == "bad"


async def test_a_handler_that_cannot_start_is_started_by_a_later_engine(
    home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = Engine(home, base_dir=tmp_path, plugins=False)
    await first.save_blueprint(HANDLER)
    eid = await first.start(blueprint=failing(seconds=0.3))
    await _until_running(first, eid, "wait")
    await first.delete_blueprint("on-failure")  # gone when the failure comes
    with caplog.at_level(logging.ERROR):
        failed = await first.wait(eid)
    assert failed.status is ExecutionStatus.FAILED
    handler_id = failed.error_handler_execution_id
    assert handler_id is not None
    assert "cannot start error handler" in caplog.text
    assert await _handlers(first) == []
    await first.save_blueprint(HANDLER)  # back again
    await first.close()

    second = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        again = await second.get_execution(eid)  # reading it finds the debt
        assert again.error_handler_execution_id == handler_id
        handled = await second.wait(handler_id)
        assert handled.handler_for == eid
        assert await _handlers(second) == [handler_id]
    finally:
        await second.close()


async def test_a_named_handler_cannot_be_deleted_from_the_library(engine: Engine) -> None:
    await engine.save_blueprint(HANDLER)
    await engine.save_blueprint(failing())
    with pytest.raises(BlueprintConflictError, match="fragile"):
        await engine.delete_blueprint("on-failure")


async def test_an_engine_without_a_store_runs_handlers_too(tmp_path: Path) -> None:
    engine = Engine(tmp_path / "home", base_dir=tmp_path, plugins=False, persist=False)
    try:
        slow = {**HANDLER, "nodes": [{"id": "wait", "type": "delay", "params": {"seconds": 1}}]}
        await engine.save_blueprint({**slow, "outputs": {"input": "wait"}})
        failed = await engine.execute(blueprint=failing())
        assert failed.error_handler_execution_id is not None
        # Known only while it runs (nothing is recorded): it runs for a second.
        handled = await engine.wait(failed.error_handler_execution_id)
        assert handled.status is ExecutionStatus.COMPLETED
        assert handled.outputs == {"input": handled.inputs}
        assert handled.inputs["node_id"] == "bad"
    finally:
        await engine.close()
