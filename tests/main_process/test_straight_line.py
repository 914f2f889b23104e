"""Straight-line plain functions (no call, no loop) run on the engine loop itself;
one that runs foreign Python code or takes long goes to node threads for good
(main_process/runners/straight_line.py, sync_calls.py)."""

from __future__ import annotations

import functools
import sys
import threading
import time
from typing import Any

import pytest

from app import Blueprint, Conductor, ExecutionStatus, create_simple_node
from app.blueprint import Runner
from main_process.runners import sync_calls
from main_process.runners.straight_line import straight_line


class Where(threading.local):
    """``WHERE.thread`` reads ``loop`` on the loop's thread (set by the tests), else
    ``thread``: a straight-line function can see where it ran without a call."""

    thread = "thread"


WHERE = Where()


def add_key(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    value[ctx.node_id] = WHERE.thread
    return value


def add_with_context(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    value["execution"] = ctx.execution_id  # the engine's own property: trusted
    value[ctx.node_id] = WHERE.thread
    return value


def branches(value: dict[str, Any]) -> dict[str, Any]:
    try:
        n = value["n"]
    except KeyError:
        n = 0
    return {"n": n * 2 if n > 1 else -n, "s": f"{n}!", **value}


def sleeps(value: Any) -> Any:
    time.sleep(0)
    return value


def loops(value: Any) -> Any:
    while value:
        value = value[1:]
    return value


def comprehension(value: Any) -> Any:
    return [v * 2 for v in value]


def with_block(value: Any) -> Any:
    with value:
        return 1


def generator(value: Any) -> Any:
    yield value


async def coroutine(value: Any) -> Any:
    return value


def imports(value: Any) -> Any:
    import json as j

    return j


class Callable:
    def __call__(self, value: Any) -> Any:
        return value


@pytest.mark.parametrize(
    "fn",
    [add_key, add_with_context, branches, lambda x: {"n": x["n"] * 2}, lambda x: x],
)
def test_straight_line_code(fn: Any) -> None:
    assert straight_line(fn)


@pytest.mark.parametrize(
    "fn",
    [
        sleeps,
        loops,
        comprehension,
        with_block,
        generator,
        coroutine,
        imports,
        lambda x: len(x) + 1,
        lambda x: x.get("a"),
        Callable(),
        functools.partial(add_key, {}),
        len,
    ],
)
def test_anything_that_calls_loops_or_is_not_a_function_is_not(fn: Any) -> None:
    assert not straight_line(fn)


def chain(fn: Any, n: int = 3, **spec: Any) -> Blueprint:
    return Blueprint(
        id="straight", nodes=[create_simple_node(f"n{i}", "t", fn, **spec) for i in range(n)]
    )


async def run(conductor: Conductor, bp: Blueprint) -> dict[str, Any]:
    WHERE.thread = "loop"
    result = await conductor.execute(blueprint=bp, inputs={})
    assert result.status is ExecutionStatus.COMPLETED, result.error
    outputs: dict[str, Any] = result.outputs
    return outputs


async def test_straight_line_nodes_run_on_the_loop_from_their_first_call(
    conductor: Conductor,
) -> None:
    assert await run(conductor, chain(add_key)) == {"n0": "loop", "n1": "loop", "n2": "loop"}
    outputs = await run(conductor, chain(add_with_context))
    assert outputs["n2"] == "loop" and outputs["execution"]
    assert sync_calls.on_loop(add_key) and sync_calls.on_loop(add_with_context)


async def test_runner_thread_a_timeout_or_a_profiler_mean_a_thread(conductor: Conductor) -> None:
    def pinned(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
        value[ctx.node_id] = WHERE.thread
        return value

    assert set((await run(conductor, chain(pinned, runner=Runner.THREAD))).values()) == {"thread"}
    assert set((await run(conductor, chain(pinned, timeout=5.0))).values()) == {"thread"}
    sys.setprofile(lambda frame, event, arg: None)
    try:
        assert set((await run(conductor, chain(pinned))).values()) == {"thread"}
    finally:
        sys.setprofile(None)
    assert set((await run(conductor, chain(pinned))).values()) == {"loop"}


class Lookup:
    """An object whose item lookup is Python code the function's bytecode does not show."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def __getitem__(self, key: str) -> str:
        self.threads.append(threading.get_ident())
        return key


LOOKUP = Lookup()


def reads(value: Any) -> Any:
    return {"x": LOOKUP["x"]}


async def test_a_function_that_runs_foreign_python_code_goes_to_threads(
    conductor: Conductor,
) -> None:
    assert straight_line(reads)
    for _ in range(3):
        assert await run(conductor, chain(reads, n=1)) == {"x": "x"}
    loop_thread = threading.get_ident()
    assert LOOKUP.threads[0] == loop_thread  # the first call had begun: it ends on the loop
    assert loop_thread not in LOOKUP.threads[1:]
    assert not sync_calls.on_loop(reads)


def slow(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    value[ctx.node_id] = WHERE.thread
    return value


async def test_a_function_slow_on_the_loop_goes_to_threads(
    conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_calls, "BLOCKED_S", 0.0)  # every call counts as slow
    assert await run(conductor, chain(slow)) == {"n0": "loop", "n1": "thread", "n2": "thread"}
    assert not sync_calls.on_loop(slow)
