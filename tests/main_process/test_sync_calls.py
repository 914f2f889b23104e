"""Plain ``def`` nodes: on a thread through the loop until shown fast, then on a
thread the loop waits for in place, for at most ``BLOCKED_S``; a call that outlives
that is handed off (the loop goes on) and its function must earn the fast path
again, for good after ``HANDOFFS_MAX`` hand-offs; ``runner: thread`` and a
``timeout`` always mean the plain thread path (main_process/runners/sync_calls.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

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


async def test_a_fast_plain_function_gets_the_fast_path_and_never_runs_on_the_loop(
    conductor: Conductor,
) -> None:
    fn, loop_thread = Noting(), threading.get_ident()
    bp = blueprint(fn)
    runs = 0
    while not sync_calls.runs_inline(fn):
        await run(conductor, bp)
        runs += 1
        assert runs < 50, "a function of a few microseconds was never trusted"
    calls = len(fn.threads)
    for _ in range(5):
        await run(conductor, bp)
    assert len(fn.threads) == calls + 5
    assert loop_thread not in fn.threads  # a node thread always: it may block


async def stall_while(work: Any) -> float:
    """The longest the loop went without running a 1 ms timer while ``work`` ran."""
    done, worst = False, 0.0

    async def probe() -> None:
        nonlocal worst
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - start)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.005)
    try:
        await work
    finally:
        done = True
        await task
    return worst


async def test_a_fast_function_that_then_blocks_does_not_stall_the_loop(
    conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loaded machine may be late to run the thread: a wider budget than the
    # default keeps this about blocking, still far under the bar asserted below.
    monkeypatch.setattr(sync_calls, "BLOCKED_S", 0.05)
    fn = Noting()
    bp = blueprint(fn)
    for _ in range(200):  # a long record of fast calls
        await run(conductor, bp)
        if len(fn.threads) >= 50 and sync_calls.runs_inline(fn):
            break
    assert sync_calls.runs_inline(fn)
    fn.block_s = 0.3  # the call the past could not predict
    worst = await stall_while(run(conductor, bp))
    assert worst < 0.15, f"the loop stalled {worst * 1000:.0f} ms behind a blocking call"
    assert not sync_calls.runs_inline(fn)  # handed off: it must earn the fast path again


async def test_a_function_handed_off_too_often_stays_on_threads(
    conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_calls, "BLOCKED_S", 0.05)  # see the test above
    fn = Noting()
    bp = blueprint(fn)
    for _ in range(sync_calls.HANDOFFS_MAX):
        fn.block_s = 0.0
        for _ in range(100):
            if sync_calls.runs_inline(fn):
                break
            await run(conductor, bp)
        assert sync_calls.runs_inline(fn)
        fn.block_s = sync_calls.BLOCKED_S * 4
        await run(conductor, bp)
        assert not sync_calls.runs_inline(fn)
    fn.block_s = 0.0
    for _ in range(sync_calls.TRUST_AFTER * 3):
        await run(conductor, bp)
        assert not sync_calls.runs_inline(fn)  # for good, however fast it is again


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
    assert not sync_calls.runs_inline(pinned) and not sync_calls.runs_inline(timed)


def uses_asyncio_run(value: Any) -> Any:
    async def inner() -> Any:
        await asyncio.sleep(0)
        return value

    return asyncio.run(inner())


async def test_asyncio_run_inside_a_function_on_the_fast_path_works(conductor: Conductor) -> None:
    bp = blueprint(uses_asyncio_run)
    for _ in range(100):
        if sync_calls.runs_inline(uses_asyncio_run):
            break
        await run(conductor, bp)
    assert sync_calls.runs_inline(uses_asyncio_run)
    await run(conductor, bp)  # waited for in place, with a loop of its own inside
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
        if sync_calls.runs_inline(note_thread):
            break
        result = await conductor.execute(blueprint={"id": "p", "nodes": [node]}, inputs={})
        assert result.status is ExecutionStatus.COMPLETED, result.error
    assert sync_calls.runs_inline(note_thread)  # no runner, no timeout: the fast path
    result = await conductor.execute(blueprint={"id": "p", "nodes": [node]}, inputs={})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert loop_thread not in THREADS
