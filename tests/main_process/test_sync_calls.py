"""Plain ``def`` nodes: on a thread until shown fast, then on the engine loop; a
function that blocks the loop goes back to threads for good; ``runner: thread`` and
a ``timeout`` always mean a thread (main_process/runners/sync_calls.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from app import Blueprint, Conductor, ExecutionStatus, create_simple_node
from app.blueprint import Runner
from main_process.runners import sync_calls


class Noting:
    """A plain callable that notes the thread of each call and can be told to block."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.block_s = 0.0

    def __call__(self, value: Any) -> Any:
        self.threads.append(threading.get_ident())
        if self.block_s:
            time.sleep(self.block_s)
        return value


def blueprint(fn: Any, **spec: Any) -> Blueprint:
    node = create_simple_node("n", "noting", fn)
    return Blueprint(id="sync", nodes=[node.model_copy(update=spec)])


async def run(conductor: Conductor, bp: Blueprint) -> None:
    result = await conductor.execute(blueprint=bp, inputs={"x": 1})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs == {"x": 1}


async def test_a_fast_plain_function_moves_to_the_loop(conductor: Conductor) -> None:
    fn, loop_thread = Noting(), threading.get_ident()
    bp = blueprint(fn)
    runs = 0
    while not sync_calls.runs_inline(fn):
        await run(conductor, bp)
        runs += 1
        assert runs < 50, "a function of a few microseconds was never trusted"
    assert loop_thread not in fn.threads  # it was measured on threads first
    await run(conductor, bp)
    assert fn.threads[-1] == loop_thread


async def test_a_function_that_blocks_the_loop_goes_back_to_threads(
    conductor: Conductor,
) -> None:
    fn, loop_thread = Noting(), threading.get_ident()
    bp = blueprint(fn)
    while not sync_calls.runs_inline(fn):
        await run(conductor, bp)
    fn.block_s = sync_calls.BLOCKED_S * 4
    await run(conductor, bp)  # the one call the past could not predict
    assert fn.threads[-1] == loop_thread
    assert not sync_calls.runs_inline(fn)
    fn.block_s = 0.0
    for _ in range(sync_calls.TRUST_AFTER * 3):
        await run(conductor, bp)
        assert fn.threads[-1] != loop_thread  # for good, however fast it is again


async def test_a_function_blocking_from_its_first_call_never_stalls_the_loop(
    conductor: Conductor,
) -> None:
    fn = Noting()
    fn.block_s = 0.2
    bp = blueprint(fn)
    for _ in range(2):
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        try:
            await run(conductor, bp)
        finally:
            ticker.cancel()
        assert ticks >= 5  # the loop went on while the function slept
    assert not sync_calls.runs_inline(fn)


async def test_runner_thread_and_a_timeout_always_mean_a_thread(conductor: Conductor) -> None:
    loop_thread = threading.get_ident()
    pinned, timed = Noting(), Noting()
    pinned_bp = blueprint(pinned, runner=Runner.THREAD)
    timed_bp = blueprint(timed, timeout=5.0)
    for _ in range(sync_calls.TRUST_AFTER * 3):
        await run(conductor, pinned_bp)
        await run(conductor, timed_bp)
    assert loop_thread not in pinned.threads + timed.threads


def uses_asyncio_run(value: Any) -> Any:
    async def inner() -> Any:
        await asyncio.sleep(0)
        return value

    return asyncio.run(inner())


async def test_asyncio_run_inside_a_function_on_the_loop_works(conductor: Conductor) -> None:
    bp = blueprint(uses_asyncio_run)
    for _ in range(100):
        if sync_calls.runs_inline(uses_asyncio_run):
            break
        await run(conductor, bp)
    assert sync_calls.runs_inline(uses_asyncio_run)
    await run(conductor, bp)  # on the loop, with a loop of its own inside
    assert sync_calls.runs_inline(uses_asyncio_run)
    assert asyncio.get_running_loop().is_running()


THREADS: list[int] = []


def note_thread(value: Any) -> Any:
    """For ``python.function``: notes the thread of each call."""
    THREADS.append(threading.get_ident())
    return value


async def test_python_function_follows_the_same_rule(conductor: Conductor) -> None:
    loop_thread = threading.get_ident()
    fn = f"{__name__}:note_thread"
    node = {"id": "f", "type": "python.function", "params": {"function": fn}}
    pinned = {**node, "runner": "thread"}
    timed = {**node, "timeout": 5}
    for spec in (pinned, timed):
        THREADS.clear()
        for _ in range(sync_calls.TRUST_AFTER * 3):
            result = await conductor.execute(blueprint={"id": "p", "nodes": [spec]}, inputs={})
            assert result.status is ExecutionStatus.COMPLETED, result.error
        assert loop_thread not in THREADS  # runner: thread, or a timeout: always a thread
    THREADS.clear()
    for _ in range(100):
        if sync_calls.runs_inline(note_thread) and THREADS and THREADS[-1] == loop_thread:
            break
        result = await conductor.execute(blueprint={"id": "p", "nodes": [node]}, inputs={})
        assert result.status is ExecutionStatus.COMPLETED, result.error
    assert THREADS[0] != loop_thread and THREADS[-1] == loop_thread
