"""``runner: dask`` on a real ``distributed.LocalCluster`` (two worker processes).

The cluster is started once for the module, with ``allowed-failures`` at 0 so a killed
worker's task fails at once (KilledWorker) and the node's own ``retry`` is what runs
it again (see :mod:`main_process.runners.dask_runner`). Tests that need no cluster
(validation, an unreachable scheduler) never start one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.api import create_conductor
from app.errors import BlueprintError, ConfigError
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")


def _node(function: str, **fields: Any) -> dict[str, Any]:
    params = {"function": f"tests.dask_functions:{function}", **fields.pop("params", {})}
    return {"id": "work", "type": "python.function", "runner": "dask", "params": params, **fields}


def _blueprint(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"id": "dask-test", "nodes": list(nodes)}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as local,
    ):
        yield local


@pytest.fixture
async def client(cluster: Any) -> AsyncIterator[Any]:
    """A client of the test's own, to ask the scheduler; waits for both workers."""
    async with distributed.Client(
        cluster.scheduler_address, asynchronous=True, set_as_default=False
    ) as own:
        await own.wait_for_workers(2, timeout=60)
        yield own


@pytest.fixture
async def dask_engine(home: Path, tmp_path: Path, cluster: Any) -> AsyncIterator[Engine]:
    engine = Engine(
        home, base_dir=tmp_path, plugins=False, dask_scheduler=cluster.scheduler_address
    )
    try:
        yield engine
    finally:
        await engine.close()


async def _worker_pids(client: Any) -> set[int]:
    return set((await client.run(os.getpid)).values())


async def _nothing_processing(client: Any, timeout: float = 10.0) -> None:
    """Wait until the scheduler holds no task of ours (none running, none waiting)."""
    deadline = time.monotonic() + timeout
    while True:
        processing = await client.processing()
        tasks = await client.run_on_scheduler(
            lambda dask_scheduler: [k for k in dask_scheduler.tasks if "conductor-" in str(k)]
        )
        if not any(processing.values()) and not tasks:
            return
        assert time.monotonic() < deadline, f"still on the cluster: {processing} {tasks}"
        await asyncio.sleep(0.05)


async def _wait_for_file(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text(encoding="utf-8").strip()):
        assert time.monotonic() < deadline, f"{path} never written"
        await asyncio.sleep(0.02)
    return path.read_text(encoding="utf-8")


# -- no cluster needed ------------------------------------------------------------------


async def test_runner_dask_without_a_scheduler_is_a_validation_problem(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONDUCTOR_DASK_SCHEDULER", raising=False)
    engine = Engine(home, plugins=False)
    try:
        blueprint = _blueprint(_node("pid"))
        problems = await engine.validate(blueprint)
        assert [p.where for p in problems] == ["nodes[0].runner"]
        assert "'work'" in problems[0].message and "--dask-scheduler" in problems[0].message
        with pytest.raises(BlueprintError) as caught:
            await engine.start(blueprint=blueprint)
        assert caught.value.problems[0].where == "nodes[0].runner"
        await engine.save_blueprint(blueprint)  # saving is fine: another engine may run it
    finally:
        await engine.close()


async def test_an_unreachable_scheduler_fails_the_node_within_ten_seconds(home: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    conductor = create_conductor("direct", home=home, plugins=False, dask_scheduler=address)
    try:
        started = time.monotonic()
        result = await conductor.execute(blueprint=_blueprint(_node("pid")))
        elapsed = time.monotonic() - started
    finally:
        await conductor.close()
    assert elapsed < 10.0
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "DaskUnavailableError"
    assert address in result.error.message


async def test_per_item_calls_the_function_per_item_on_any_runner(home: Path) -> None:
    engine = Engine(home, plugins=False)
    try:
        for runner in ("thread", "process"):
            blueprint = {
                "id": f"per-item-{runner}",
                "nodes": [
                    {"id": "items", "type": "set", "params": {"value": [1, 2, 3]}},
                    {**_node("square", params={"per_item": True}), "runner": runner},
                ],
            }
            result = await engine.execute(blueprint=blueprint)
            assert result.outputs == [1, 4, 9], result.error
        not_a_list = await engine.execute(
            blueprint=_blueprint({**_node("square", params={"per_item": True}), "runner": "thread"})
        )
        assert not_a_list.error is not None
        assert "per_item needs a list" in not_a_list.error.message
    finally:
        await engine.close()


def test_an_http_client_does_not_choose_the_scheduler() -> None:
    with pytest.raises(ConfigError, match="serve --dask-scheduler"):
        create_conductor(
            "http", api_url="http://127.0.0.1:9", dask_scheduler="tcp://127.0.0.1:8786"
        )


# -- on the cluster ---------------------------------------------------------------------


async def test_the_node_runs_in_a_dask_worker_process(dask_engine: Engine, client: Any) -> None:
    result = await dask_engine.execute(blueprint=_blueprint(_node("pid_with_log")))
    assert result.status is ExecutionStatus.COMPLETED, result.error
    ran_in = result.outputs["pid"]
    assert ran_in != os.getpid()
    assert ran_in in await _worker_pids(client)
    events = await dask_engine.recorded_events(result.execution_id)
    logs = [e for e in events if getattr(e, "message", None) == "hello from a worker"]
    assert logs, "the worker's ctx.log line came back with the result"


@pytest.mark.slow
async def test_per_item_spreads_batches_over_both_workers(dask_engine: Engine, client: Any) -> None:
    items = [5] * 300  # ~5 ms each: ~1.5 s of work, enough for both workers
    blueprint = {
        "id": "dask-map",
        "nodes": [
            {"id": "items", "type": "set", "params": {"value": items}},
            {**_node("item_pid", params={"per_item": True}), "id": "map"},
        ],
    }
    result = await dask_engine.execute(blueprint=blueprint)
    assert result.status is ExecutionStatus.COMPLETED, result.error
    pids = result.outputs
    assert len(pids) == len(items)
    assert set(pids) == await _worker_pids(client)


@pytest.mark.slow
async def test_upload_sends_a_module_the_workers_do_not_have(
    home: Path, tmp_path: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "not-on-any-path"
    elsewhere.mkdir()
    module = elsewhere / "conductor_uploaded_probe.py"
    module.write_text("import os\n\ndef answer(value):\n    return {'pid': os.getpid()}\n")
    monkeypatch.setenv("CONDUCTOR_DASK_UPLOAD", str(module))
    engine = Engine(home, plugins=False, dask_scheduler=cluster.scheduler_address)
    try:
        node = {**_node("pid"), "params": {"function": "conductor_uploaded_probe:answer"}}
        result = await engine.execute(blueprint=_blueprint(node))
    finally:
        await engine.close()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs["pid"] != os.getpid()


@pytest.mark.slow
async def test_an_item_that_raises_fails_the_node_with_its_index(dask_engine: Engine) -> None:
    blueprint = {
        "id": "dask-map-fail",
        "nodes": [
            {"id": "items", "type": "set", "params": {"value": list(range(20))}},
            {**_node("fail_on_seven", params={"per_item": True}), "id": "map"},
        ],
    }
    result = await dask_engine.execute(blueprint=blueprint)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "ValueError"
    assert result.error.message.startswith("item 7:")


@pytest.mark.slow
async def test_cancel_leaves_no_running_futures(
    dask_engine: Engine, client: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    eid = await dask_engine.start(
        blueprint=_blueprint(_node("sleep_until_gone")),
        inputs={"marker": str(marker)},
    )
    try:
        pid = int(await _wait_for_file(marker))
        assert pid in await _worker_pids(client)
        assert any((await client.processing()).values())  # it is running on the cluster
        assert await dask_engine.cancel(eid)
        result = await dask_engine.wait(eid)
        assert result.status is ExecutionStatus.CANCELLED
        await _nothing_processing(client)
    finally:
        marker.unlink(missing_ok=True)  # the worker's thread ends (Dask cannot stop it)


@pytest.mark.slow
async def test_a_timeout_cancels_the_future(
    dask_engine: Engine, client: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    try:
        result = await dask_engine.execute(
            blueprint=_blueprint(_node("sleep_until_gone", timeout=1.5)),
            inputs={"marker": str(marker)},
        )
        assert result.status is ExecutionStatus.FAILED
        assert result.error is not None and result.error.type == "NodeTimeoutError"
        assert marker.exists()  # it did start on a worker
        await _nothing_processing(client)
    finally:
        marker.unlink(missing_ok=True)


@pytest.mark.slow
async def test_a_killed_worker_is_retried_per_the_nodes_retry(
    dask_engine: Engine, client: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "pids"
    node = _node("slow_marked", retry={"max_attempts": 2})
    eid = await dask_engine.start(
        blueprint=_blueprint(node), inputs={"marker": str(marker), "seconds": 2.0}
    )
    killed = int((await _wait_for_file(marker)).split()[0])
    assert killed in await _worker_pids(client)
    os.kill(killed, signal.SIGKILL)
    result = await dask_engine.wait(eid)
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs["pid"] != killed
    work = result.nodes["work"]
    assert work.status is NodeStatus.COMPLETED and work.attempts == 2
    events = await dask_engine.recorded_events(eid)
    retrying = [e for e in events if getattr(e, "status", None) == NodeStatus.RETRYING]
    assert retrying and "DaskWorkerLostError" in str(retrying[0])
    await client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for later tests


@pytest.mark.slow
async def test_the_pipe_worker_gets_the_scheduler_from_the_clients_options(
    home: Path, cluster: Any, client: Any
) -> None:
    conductor = create_conductor("ipc", home=home, dask_scheduler=cluster.scheduler_address)
    try:
        result = await conductor.execute(blueprint=_blueprint(_node("pid")))
    finally:
        await conductor.close()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs["pid"] in await _worker_pids(client)


@pytest.mark.slow
async def test_map_items_on_a_client_of_ones_own(client: Any) -> None:
    """The entry point a streamed map calls: batches of a given size, results in order."""
    from main_process.runners.dask_runner import map_items

    items = list(range(250))
    squares = await map_items(client, "tests.dask_functions:square", items, 40)
    assert squares == [i * i for i in items]
    assert await map_items(client, "tests.dask_functions:square", [], 40) == []
