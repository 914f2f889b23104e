"""``runner: process``: node code in worker processes that are killed at the timeout.

Real workers, real kills: each stuck node notes its pid in a file (``pidfile`` in
its input), and the tests wait until that process is gone. Timing-sensitive tests
warm the pool first, so a worker's start-up (which counts against a node's
timeout) does not decide them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from app import (
    Blueprint,
    Conductor,
    ExecutionResult,
    ExecutionStatus,
    NodeStatus,
    create_conductor,
    create_simple_node,
)
from app.errors import BlueprintError
from tests import node_functions

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the process runner is POSIX-only")


def fn_node(node_id: str, function: str, runner: str = "process", **spec: Any) -> dict[str, Any]:
    target = f"tests.node_functions:{function}"
    node = {"id": node_id, "type": "python.function", "params": {"function": target}}
    return {**node, "runner": runner, **spec}


def blueprint(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "process-runner", "nodes": list(nodes), **extra}


def gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


async def until(condition: Callable[[], Any], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def noted_pid(pidfile: Path) -> int:
    return int(pidfile.read_text().split()[0])


async def warm(c: Conductor, workers: int = 1) -> set[int]:
    """Start ``workers`` pool processes (in parallel nodes) and return their pids."""
    nodes = [fn_node(f"w{i}", "pid") for i in range(workers)]
    result = await c.execute(blueprint=blueprint(*nodes, edges=[]))
    assert result.status is ExecutionStatus.COMPLETED, result.error
    return {n.output for n in result.nodes.values()}


@pytest.fixture
async def pooled(home: Path, tmp_path: Path) -> AsyncIterator[Conductor]:
    """A direct conductor whose pool keeps two workers."""
    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False, max_processes=2)
    try:
        yield c
    finally:
        await c.close()


def same_failure(a: ExecutionResult, b: ExecutionResult) -> None:
    assert a.error is not None and b.error is not None
    assert (a.error.type, a.error.message, a.error.where, a.error.node_id) == (
        b.error.type,
        b.error.message,
        b.error.where,
        b.error.node_id,
    )
    assert a.error.traceback is not None and b.error.traceback is not None
    assert a.error.traceback.startswith("Traceback (most recent call last):")
    assert a.error.traceback.splitlines()[-1] == b.error.traceback.splitlines()[-1]


@pytest.mark.parametrize(
    ("nodes", "inputs"),
    [
        ([fn_node("r", "record")], {"step": 3}),
        ([fn_node("d", "async_double")], {"x": 21}),
        ([fn_node("b", "boom")], {}),
        ([fn_node("m", "no_such_function")], {}),
        (
            [{"id": "j", "type": "json.transform", "params": {"expression": "items[?p > `1`]"}}],
            {"items": [{"p": 1}, {"p": 2}]},
        ),
        ([{"id": "s", "type": "set", "params": {"value": {"got": "{{ inputs.x }}"}}}], {"x": [1]}),
    ],
)
async def test_results_and_errors_equal_the_thread_runners(
    conductor: Conductor, nodes: list[dict[str, Any]], inputs: dict[str, Any]
) -> None:
    on_thread = await conductor.execute(
        blueprint=blueprint(*[{**n, "runner": "thread"} for n in nodes]), inputs=inputs
    )
    in_process = await conductor.execute(
        blueprint=blueprint(*[{**n, "runner": "process"} for n in nodes]), inputs=inputs
    )
    assert in_process.status is on_thread.status
    assert in_process.outputs == on_thread.outputs
    if on_thread.error is not None:
        same_failure(in_process, on_thread)


async def test_megabytes_cross_both_ways(conductor: Conductor) -> None:
    """Requests and replies far past the socket buffer go through asyncio streams
    (the first version read replies with a blocking call on the loop and wrote big
    requests from asyncio's default thread pool: found in review)."""

    def builtin(node_id: str, name: str) -> dict[str, Any]:
        params = {"function": f"builtins:{name}"}
        return {"id": node_id, "type": "python.function", "runner": "process", "params": params}

    result = await conductor.execute(
        blueprint=blueprint(
            {"id": "big", "type": "set", "params": {"value": "{{ 'x' * 5000000 }}"}},
            builtin("copy", "str"),
            builtin("size", "len"),
        ),
        include_node_outputs=True,  # 5 MB: over the result's inline limit
    )
    assert result.success, result.error
    assert result.outputs == 5_000_000
    assert result.nodes["copy"].output == "x" * 5_000_000


async def test_a_log_line_left_by_an_earlier_call_is_not_the_next_calls(
    home: Path, tmp_path: Path
) -> None:
    """Regression (review): a thread a node leaves running in a reused worker logged
    into whichever call came next."""
    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False, max_processes=1)
    try:
        value = {"go": str(tmp_path / "go"), "sent": str(tmp_path / "sent")}
        result = await c.execute(
            blueprint=blueprint(
                {"id": "start", "type": "set", "params": {"value": value}},
                fn_node("leaves", "log_after_returning"),
                fn_node("next", "release_and_wait"),
            )
        )
        assert result.success, result.error
        assert (tmp_path / "sent").exists()
        logs = [e async for e in c.events(result.execution_id) if e.kind == "log"]
        assert not any("stale" in str(e.data) for e in logs), logs
    finally:
        await c.close()


async def test_branch_ports_cross_the_process(conductor: Conductor) -> None:
    nodes = [
        {"id": "if", "type": "if", "params": {"condition": "{{ inputs.go }}"}, "runner": "process"},
        {"id": "yes", "type": "set", "params": {"value": "yes"}},
        {"id": "no", "type": "set", "params": {"value": "no"}},
    ]
    edges = [
        {"source": "if", "target": "yes", "source_port": "true"},
        {"source": "if", "target": "no", "source_port": "false"},
    ]
    result = await conductor.execute(blueprint=blueprint(*nodes, edges=edges), inputs={"go": True})
    assert result.nodes["if"].port == "true"
    assert result.nodes["no"].status is NodeStatus.SKIPPED
    assert result.outputs == {"yes": "yes"}


async def test_code_defined_nodes_need_an_importable_function(conductor: Conductor) -> None:
    spec = create_simple_node("b", "b", node_functions.boom, runner="process")
    on_thread = create_simple_node("b", "b", node_functions.boom, runner="thread")
    same_failure(
        await conductor.execute(blueprint=Blueprint(id="p", nodes=[spec])),
        await conductor.execute(blueprint=Blueprint(id="p", nodes=[on_thread])),
    )

    def closure(value: Any) -> int:
        return 1

    bad = create_simple_node("local", "l", closure, runner="process")
    with pytest.raises(BlueprintError, match="runner process needs an importable function") as info:
        await conductor.execute(blueprint=Blueprint(id="p", nodes=[bad]))
    assert "'local'" in str(info.value)
    assert info.value.problems[0].where == "nodes[0].runner"


async def test_context_logs_are_forwarded_and_set_variable_fails(conductor: Conductor) -> None:
    bp = blueprint(fn_node("c", "context_echo"), vars={"v": "x"})
    eid = await conductor.start(blueprint=bp, inputs={"a": 1})
    events = [e async for e in conductor.events(eid)]
    result = await conductor.wait(eid)
    assert result.outputs["execution_id"] == eid
    assert result.outputs["inputs"] == {"a": 1}
    on_thread = await conductor.execute(
        blueprint=blueprint(fn_node("c", "context_echo", runner="thread"), vars={"v": "x"}),
        inputs={"a": 1},
    )
    assert {**on_thread.outputs, "execution_id": eid} == result.outputs
    logs = [e.data for e in events if e.kind == "log" and e.data]
    assert any(d.get("message") == "hello from the node" for d in logs), logs

    failed = await conductor.execute(blueprint=bp, inputs={"set_variable": True})
    assert failed.error is not None and failed.error.type == "NodeFailedError"
    assert "set_variable('k') is not supported on the process runner" in failed.error.message


async def test_a_result_json_cannot_hold_fails_naming_the_node(conductor: Conductor) -> None:
    result = await conductor.execute(blueprint=blueprint(fn_node("odd", "not_json")))
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and result.error.node_id == "odd"
    assert "node 'odd' returned a object" in result.error.message
    assert "JSON" in result.error.message


async def test_a_blocking_node_is_killed_at_its_timeout(
    conductor: Conductor, tmp_path: Path
) -> None:
    await warm(conductor)
    pidfile = tmp_path / "pids"
    started = time.monotonic()
    result = await conductor.execute(
        blueprint=blueprint(fn_node("s", "sleep_noting_pid", timeout=0.5)),
        inputs={"pidfile": str(pidfile), "seconds": 60},
    )
    elapsed = time.monotonic() - started
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and result.error.type == "NodeTimeoutError"
    assert "timed out" in result.error.message
    node = result.nodes["s"]
    assert node.started_at is not None and node.finished_at is not None
    assert node.finished_at - node.started_at < 5.0
    assert elapsed < 5.0
    pid = noted_pid(pidfile)
    await until(lambda: gone(pid))


async def test_cancel_kills_the_worker(conductor: Conductor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    eid = await conductor.start(
        blueprint=blueprint(fn_node("s", "sleep_noting_pid")), inputs={"pidfile": str(pidfile)}
    )
    await until(pidfile.exists)
    pid = noted_pid(pidfile)
    assert not gone(pid)
    assert await conductor.cancel(eid)
    result = await conductor.wait(eid)
    assert result.status is ExecutionStatus.CANCELLED
    await until(lambda: gone(pid))


async def test_a_retry_runs_in_another_process_after_the_kill(
    pooled: Conductor, tmp_path: Path
) -> None:
    await warm(pooled, workers=2)
    pidfile = tmp_path / "pids"
    node = fn_node("r", "stuck_on_first_attempt", timeout=0.5, retry={"max_attempts": 2})
    result = await pooled.execute(blueprint=blueprint(node), inputs={"pidfile": str(pidfile)})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.nodes["r"].attempts == 2
    killed = noted_pid(pidfile)
    assert result.outputs == {"pid": result.outputs["pid"], "attempt": 2}
    assert result.outputs["pid"] != killed
    await until(lambda: gone(killed))


async def test_every_attempt_times_out_and_the_pool_recovers(
    pooled: Conductor, tmp_path: Path
) -> None:
    await warm(pooled, workers=2)
    pidfile = tmp_path / "pids"
    node = fn_node("s", "sleep_noting_pid", timeout=0.5, retry={"max_attempts": 2})
    result = await pooled.execute(blueprint=blueprint(node), inputs={"pidfile": str(pidfile)})
    assert result.error is not None and result.error.type == "NodeTimeoutError"
    assert result.nodes["s"].attempts == 2
    pids = [int(pid) for pid in pidfile.read_text().split()]
    assert len(pids) == 2
    await until(lambda: all(gone(pid) for pid in pids))
    again = await pooled.execute(blueprint=blueprint(fn_node("p", "pid")))
    assert again.status is ExecutionStatus.COMPLETED


async def test_calls_wait_for_a_free_worker(home: Path, tmp_path: Path) -> None:
    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False, max_processes=1)
    try:
        nodes = [fn_node(f"p{i}", "pid") for i in range(3)]
        result = await c.execute(blueprint=blueprint(*nodes, edges=[]))
        assert result.status is ExecutionStatus.COMPLETED
        assert len({n.output for n in result.nodes.values()}) == 1
    finally:
        await c.close()


async def test_closing_the_engine_leaves_no_worker_behind(home: Path, tmp_path: Path) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    pidfile = tmp_path / "pids"
    eid = await c.start(
        blueprint=blueprint(fn_node("s", "sleep_noting_pid")), inputs={"pidfile": str(pidfile)}
    )
    await until(pidfile.exists)
    pid = noted_pid(pidfile)
    started = time.monotonic()
    await c.close()
    assert time.monotonic() - started < 5.0
    assert gone(pid)
    children = psutil.Process().children(recursive=True)
    left = [p.cmdline() for p in children if p.pid not in before and not gone(p.pid)]
    assert not left
    reopened = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    try:
        assert (await reopened.get_execution(eid)).status is ExecutionStatus.INTERRUPTED
    finally:
        await reopened.close()


async def test_the_process_runner_over_every_transport(
    any_conductor: Conductor, tmp_path: Path
) -> None:
    result = await any_conductor.execute(
        blueprint=blueprint(fn_node("d", "async_double")), inputs={"x": 4}
    )
    assert result.outputs == {"doubled": 8}
    pidfile = tmp_path / "pids"
    result = await any_conductor.execute(
        blueprint=blueprint(fn_node("s", "sleep_noting_pid", timeout=0.5)),
        inputs={"pidfile": str(pidfile)},
    )
    assert result.error is not None and result.error.type == "NodeTimeoutError"
    pid = noted_pid(pidfile)
    await until(lambda: gone(pid))
