"""Timeouts on the thread runner: a node stuck in blocking code is reported failed at
its timeout, and its thread (which cannot be stopped) holds nothing else — not the
execution, not the engine's close, not later thread nodes, not the process's exit."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from app import Blueprint, Conductor, ExecutionStatus, create_conductor, create_simple_node
from app.blueprint import Runner
from main_process.engine.plan import compile_plan
from main_process.nodes.registry import default_registry
from main_process.runners.threads import NodeThreadPool, run_in_pool

STUCK = "tests.node_functions:sleep_noting_pid"


def stuck_node(node_id: str = "s", **spec: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "python.function", "params": {"function": STUCK}, **spec}


async def until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_stuck_sync_function_fails_at_each_attempts_timeout(conductor: Conductor) -> None:
    node = stuck_node(timeout=0.5, retry={"max_attempts": 2})
    started = time.monotonic()
    result = await conductor.execute(blueprint={"id": "t", "nodes": [node]}, inputs={"seconds": 30})
    elapsed = time.monotonic() - started
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and result.error.type == "NodeTimeoutError"
    assert result.error.message == "timed out after 0.5 s (attempt 2)"
    record = result.nodes["s"]
    assert record.attempts == 2
    assert record.started_at is not None and record.finished_at is not None
    assert record.finished_at - record.started_at < 5.0
    assert elapsed < 5.0  # two attempts of 0.5 s, not 30 s of sleep


async def test_closing_does_not_wait_for_a_stuck_thread(home: Path, tmp_path: Path) -> None:
    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    pidfile = tmp_path / "started"
    eid = await c.start(
        blueprint={"id": "t", "nodes": [stuck_node()]},
        inputs={"seconds": 30, "pidfile": str(pidfile)},
    )
    await until(pidfile.exists)
    started = time.monotonic()
    await c.close()
    assert time.monotonic() - started < 10.0  # the stuck sleep lasts 30 s
    reopened = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    try:
        assert (await reopened.get_execution(eid)).status is ExecutionStatus.INTERRUPTED
    finally:
        await reopened.close()


async def test_stuck_threads_do_not_use_up_the_pool(home: Path, tmp_path: Path) -> None:
    release = threading.Event()

    def blocking(value: Any) -> None:
        release.wait(30)

    def quick(value: Any) -> str:
        return "ran"

    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False, max_threads=1)
    try:
        stuck = create_simple_node("b", "b", blocking, timeout=0.2)
        failed = await c.execute(blueprint=Blueprint(id="b", nodes=[stuck]))
        assert failed.error is not None and failed.error.type == "NodeTimeoutError"
        async with asyncio.timeout(10):
            result = await c.execute(
                blueprint=Blueprint(id="q", nodes=[create_simple_node("q", "q", quick)])
            )
        assert result.outputs == "ran"
    finally:
        release.set()
        await c.close()


async def test_an_abandoned_thread_frees_its_slot_and_then_exits() -> None:
    pool = NodeThreadPool(1)
    release = threading.Event()
    with_timeout_failed = False
    try:
        async with asyncio.timeout(0.1):
            await run_in_pool(pool, release.wait, 30)
    except TimeoutError:
        with_timeout_failed = True
    assert with_timeout_failed
    assert pool.abandoned == 1
    async with asyncio.timeout(10):
        assert await run_in_pool(pool, sum, [1, 2]) == 3  # a new thread, not a queue
    release.set()
    await until(lambda: pool.abandoned == 0)
    pool.shutdown()


def test_a_call_taken_from_the_queue_then_abandoned_does_not_strand_the_next() -> None:
    """Regression (review): a thread that took a queued call on finishing its own
    left the pool thinking a thread was free; abandoning that call then left the
    next one queued with no thread, forever."""
    pool = NodeThreadPool(1)
    first_go, second_go, second_started = threading.Event(), threading.Event(), threading.Event()
    first = pool.submit(first_go.wait, 30)
    second = pool.submit(lambda: second_started.set() or second_go.wait(30))  # queued
    first_go.set()
    assert first.result(timeout=10)
    assert second_started.wait(10)  # the same thread took the queued call
    assert pool.abandon(second)
    assert pool.submit(sum, [1, 2]).result(timeout=10) == 3
    second_go.set()
    pool.shutdown()


async def test_an_inline_sync_node_with_a_timeout_runs_on_a_thread(conductor: Conductor) -> None:
    release = threading.Event()

    def blocking(value: Any) -> None:
        release.wait(30)

    spec = create_simple_node("b", "b", blocking, runner="inline", timeout=0.2)
    plan = compile_plan(Blueprint(id="b", nodes=[spec]), default_registry(plugins=False))
    assert plan.nodes[0].runner is Runner.THREAD
    try:
        started = time.monotonic()
        result = await conductor.execute(blueprint=Blueprint(id="b", nodes=[spec]))
        assert result.error is not None and result.error.type == "NodeTimeoutError"
        assert time.monotonic() - started < 5.0
    finally:
        release.set()


async def test_a_script_exits_while_node_threads_are_stuck(tmp_path: Path) -> None:
    """Neither ``asyncio.run`` nor the interpreter waits for a thread that outlived
    its node: the script below ends long before its 30 s sleeps would."""
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, time
            from pathlib import Path
            from app import Blueprint, create_conductor, create_simple_node

            def blocking(value):
                time.sleep(30)

            async def main():
                c = create_conductor("direct", home={str(tmp_path / "home")!r},
                                     base_dir=Path({str(tmp_path)!r}), plugins=False)
                fn = {{"id": "f", "type": "python.function", "timeout": 0.3,
                       "params": {{"function": {STUCK!r}}}}}
                r1 = await c.execute(blueprint={{"id": "f", "nodes": [fn]}},
                                     inputs={{"seconds": 30}})
                node = create_simple_node("b", "b", blocking, timeout=0.3)
                r2 = await c.execute(blueprint=Blueprint(id="b", nodes=[node]))
                await c.close()
                print(r1.error.type, r2.error.type)

            asyncio.run(main())
            """
        )
    )
    root = Path(__file__).resolve().parents[2]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode().split() == ["NodeTimeoutError", "NodeTimeoutError"]
    assert time.monotonic() - started < 20.0  # the sleeps would take 30 s
