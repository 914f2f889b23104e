"""The seed's SimpleExecutor beyond its own suite: any input value, fast failure,
and the engine's node running underneath (retry, timeout, plain functions,
registered node types), with nothing written anywhere."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app import create_simple_node
from app.blueprint import Blueprint
from app.errors import ConfigError, ExecutionNotFoundError, ResumeError
from main_process import SimpleExecutor, create_simple_executor
from main_process.engine.engine import Engine
from main_process.engine.state_manager import StateManager as Recorder
from main_process.events.log import EventLog


@pytest.fixture
async def executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CONDUCTOR_HOME", str(tmp_path / "never"))
    ex = create_simple_executor()
    try:
        yield ex
    finally:
        await ex.close()
        assert not (tmp_path / "never").exists()  # in memory: no data dir


@pytest.mark.parametrize(
    "value",
    [0, 2.5, "", "text", [], [1, [2]], {}, {"a": {"b": 1}}, None, True],
    ids=repr,
)
async def test_any_value_reaches_the_first_node_as_it_is(
    executor: SimpleExecutor, value: Any
) -> None:
    seen: list[Any] = []

    async def first(input: Any) -> Any:
        seen.append(input)
        return input

    result = await executor.execute_blueprint(
        {"id": "any", "nodes": [create_simple_node("first", "t", first)]}, value
    )
    assert result.success, result.error
    assert seen == [value] and seen[0] is value
    assert result.outputs is value


async def test_failure_is_fast(executor: SimpleExecutor) -> None:
    ran: list[str] = []

    async def ok(input: Any) -> Any:
        ran.append("ok")
        return input

    async def fail(input: Any) -> Any:
        ran.append("fail")
        raise ValueError("second node broke")

    async def never(input: Any) -> Any:
        ran.append("never")
        return input

    nodes = [
        create_simple_node("ok", "t", ok),
        create_simple_node("fail", "t", fail),
        create_simple_node("never", "t", never),
    ]
    result = await executor.execute_blueprint({"id": "fast", "nodes": nodes}, 1)
    assert (result.success, result.outputs, result.error) == (False, None, "second node broke")
    assert ran == ["ok", "fail"]


async def test_the_engines_retry_timeout_and_runners_apply(executor: SimpleExecutor) -> None:
    attempts: list[int] = []

    async def flaky(input: Any) -> Any:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("not yet")
        return input + 1

    def plain(input: Any) -> Any:  # a plain def: the engine's thread runner
        time.sleep(0.001)
        return input * 10

    nodes = [
        create_simple_node("flaky", "t", flaky, retry={"max_attempts": 3, "delay": 0}),
        create_simple_node("plain", "t", plain),
    ]
    result = await executor.execute_blueprint({"id": "retry", "nodes": nodes}, 1)
    assert result.success, result.error
    assert result.outputs == 20
    assert len(attempts) == 3

    async def stuck(input: Any) -> Any:
        await asyncio.sleep(30)
        return input

    started = time.perf_counter()
    result = await executor.execute_blueprint(
        {"id": "timeout", "nodes": [create_simple_node("stuck", "t", stuck, timeout=0.05)]}, 1
    )
    assert time.perf_counter() - started < 10
    assert not result.success
    assert result.error is not None and "timed out" in result.error.lower()


async def test_models_registered_types_and_bad_blueprints(executor: SimpleExecutor) -> None:
    blueprint = Blueprint.model_validate(
        {
            "id": "registered",
            "nodes": [
                {"id": "pick", "type": "json.transform", "params": {"expression": "items[1]"}},
            ],
        }
    )
    result = await executor.execute_blueprint(blueprint, {"items": ["a", "b"]})
    assert (result.success, result.outputs) == (True, "b")
    empty = await executor.execute_blueprint({"id": "empty", "nodes": []}, 7)
    assert (empty.success, empty.outputs) == (True, 7)
    with pytest.raises(ConfigError):
        await executor.execute_blueprint(
            {
                "id": "dag",
                "nodes": [{"id": "a", "type": "set"}, {"id": "b", "type": "set"}],
                "edges": [{"source": "a", "target": "b"}],
            },
            1,
        )


def test_the_seed_api_is_lazy() -> None:
    """``main_process`` (what the spawned worker imports first) does not load the
    seed's modules until one of its names is asked for."""
    code = (
        "import sys, main_process, main_process.worker\n"
        "assert 'main_process.seed' not in sys.modules, 'loaded at import'\n"
        "from main_process import StateManager, SimpleExecutor\n"
        "from main_process import create_state_manager, create_simple_executor\n"
        "import main_process.seed as seed\n"
        "assert StateManager is seed.StateManager and SimpleExecutor is seed.SimpleExecutor\n"
        "assert create_state_manager is seed.create_state_manager\n"
        "assert create_simple_executor is seed.create_simple_executor\n"
        "assert {'StateManager', 'SimpleExecutor'} <= set(dir(main_process))\n"
        "try:\n"
        "    main_process.NoSuchName\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


async def test_an_in_memory_engine_writes_nothing_and_resumes_nothing(tmp_path: Path) -> None:
    engine = Engine(tmp_path / "never", persist=False, plugins=False)
    try:
        assert engine.store is None
        result = await engine.execute(
            blueprint={"id": "one", "nodes": [{"id": "a", "type": "set"}]}
        )
        assert result.success
        with pytest.raises(ExecutionNotFoundError):
            await engine.get_execution(result.execution_id)  # known only while it runs
        with pytest.raises(ResumeError):
            await engine.resume(result.execution_id)
        assert await engine.list_executions() == []
    finally:
        await engine.close()
    assert not (tmp_path / "never").exists()


def test_the_recorder_composes_its_event_log() -> None:
    assert EventLog not in Recorder.__mro__
    assert Recorder.__bases__ == (object,)
