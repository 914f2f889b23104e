"""A stream into a per-item ``python.function`` on ``runner: dask``: each chunk is
mapped on a real ``distributed.LocalCluster`` (two worker processes), results flow on
in order, one chunk's tasks at most on the cluster (:mod:`main_process.streams.remote`).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from app.blueprint import Blueprint, NodeSpec
from app.states import ExecutionStatus
from main_process.engine.engine import Engine
from tests.main_process import test_dask_runner as on_dask
from tests.main_process.test_dask_runner import _nothing_processing, _worker_pids

pytest.importorskip("distributed")

ITEMS = 5000

#: The cluster fixtures of the ``runner: dask`` tests (a cluster of this module's own).
cluster, client, dask_engine = on_dask.cluster, on_dask.client, on_dask.dask_engine


def _streamed(function: str, count: int = ITEMS, runner: str = "dask") -> Blueprint:
    return Blueprint(
        id="dask-stream",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"count": count}),
            NodeSpec(
                id="map",
                type="python.function",
                runner=runner,
                params={"function": f"tests.dask_functions:{function}", "per_item": True},
            ),
            NodeSpec(id="all", type="collect"),
        ],
    )


async def _tasks_on_scheduler(own: Any) -> int:
    """Tasks waiting or running on the cluster (finished ones linger until released)."""

    def live(dask_scheduler: Any) -> int:
        states = ("waiting", "queued", "no-worker", "processing")
        return sum(1 for task in dask_scheduler.tasks.values() if task.state in states)

    count: int = await own.run_on_scheduler(live)
    return count


async def test_a_stream_is_mapped_chunk_by_chunk_on_the_workers(
    dask_engine: Engine, client: Any
) -> None:
    eid = await dask_engine.start(blueprint=_streamed("double_with_pid"))
    samples: list[int] = []
    task = asyncio.ensure_future(dask_engine.wait(eid))
    while not task.done():
        samples.append(await _tasks_on_scheduler(client))
        await asyncio.sleep(0.01)
    result = task.result()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    pairs = result.outputs
    assert [value for value, _ in pairs] == [2 * i for i in range(ITEMS)]  # in order
    assert sum(value for value, _ in pairs) == ITEMS * (ITEMS - 1)
    pids = {pid for _, pid in pairs}
    assert os.getpid() not in pids
    assert pids <= await _worker_pids(client)
    # One chunk at a time: <= 500 items in batches of 63 for 2 worker threads, 8
    # tasks (10 for a 1,000-item chunk), never the whole stream's ~80.
    assert samples and max(samples) <= 10, max(samples, default=None)


async def test_a_failing_item_names_its_place_in_the_stream(dask_engine: Engine) -> None:
    result = await dask_engine.execute(blueprint=_streamed("fail_on_1234", count=3000))
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert "item 1234:" in result.error.message, result.error.message
    assert "1234 is not welcome" in result.error.message


async def test_validation_takes_dask_and_still_refuses_process(dask_engine: Engine) -> None:
    assert await dask_engine.validate(_streamed("double_with_pid")) == []
    problems = await dask_engine.validate(_streamed("double_with_pid", runner="process"))
    assert [p.where for p in problems] == ["nodes[1].runner"]
    assert "runner dask takes a stream" in problems[0].message


async def test_cancelling_the_run_cancels_the_chunks_futures(
    dask_engine: Engine, client: Any
) -> None:
    eid = await dask_engine.start(blueprint=_streamed("nap", count=2000))
    deadline = asyncio.get_running_loop().time() + 60
    while not any((await client.processing()).values()):
        assert asyncio.get_running_loop().time() < deadline, "no task reached the cluster"
        await asyncio.sleep(0.02)
    assert await dask_engine.cancel(eid)
    result = await dask_engine.wait(eid)
    assert result.status is ExecutionStatus.CANCELLED
    await _nothing_processing(client)
