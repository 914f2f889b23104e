"""A blueprint's ``concurrency: {limit, on_limit}`` holds for every execution of it,
across processes sharing one data dir: two real ``conductor serve`` subprocesses, and
an engine in this process, on the same store."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.errors import ConcurrencyLimitError
from main_process.engine.engine import Engine
from main_process.store import Store
from main_process.store.hook_fires import FireOutcome, recent_fires
from main_process.store.slots import slot_count
from tests.main_process.http_harness import open_conductor
from tests.main_process.serve_process import serve_process

TOKEN = "limit-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def limited(bp_id: str, on_limit: str, seconds: float, limit: int = 1) -> dict[str, Any]:
    return {
        "id": bp_id,
        "concurrency": {"limit": limit, "on_limit": on_limit},
        "triggers": [{"kind": "webhook", "name": "go", "respond": "at_once"}],
        "nodes": [
            {"id": "wait", "type": "delay", "params": {"seconds": seconds}},
            {"id": "done", "type": "set", "params": {"value": "{{ execution.id }}"}},
        ],
    }


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home" / "blueprints"
    folder.mkdir(parents=True)
    for blueprint in (
        limited("queued", "queue", 0.4),
        limited("skipping", "skip", 30),
        limited("newest", "cancel_oldest", 30),
    ):
        (folder / f"{blueprint['id']}.json").write_text(json.dumps(blueprint))
    return tmp_path / "home"


@pytest.fixture
def two_servers(home: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with (
        serve_process(home, TOKEN) as first,
        serve_process(home, TOKEN) as second,
        httpx.Client(base_url=first, timeout=30, headers=AUTH) as a,
        httpx.Client(base_url=second, timeout=30, headers=AUTH) as b,
    ):
        yield a, b


def _executions(client: httpx.Client, bp_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        "/v1/executions", params={"blueprint_id": bp_id}
    ).json()
    return found


def test_two_processes_respect_a_limit_of_one(
    two_servers: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = two_servers
    ids = []
    for _ in range(3):
        for client in (a, b):
            response = client.post("/v1/hooks/queued/go", json={})
            assert response.status_code == 202, response.text
            ids.append(response.json()["execution_id"])
    wait_for(
        lambda: (
            all(e["status"] == "completed" for e in _executions(a, "queued"))
            and len(_executions(a, "queued")) == 6
        )
    )
    spans = sorted((e["started_at"], e["finished_at"]) for e in _executions(a, "queued"))
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans  # one at a time, never overlapping
    assert {e["execution_id"] for e in _executions(a, "queued")} == set(ids)


def test_skip_refuses_in_the_other_process_and_records_the_fire(
    home: Path, two_servers: tuple[httpx.Client, httpx.Client]
) -> None:
    a, b = two_servers
    first = a.post("/v1/hooks/skipping/go", json={})
    assert first.status_code == 202
    wait_for(
        lambda: (
            a.get(f"/v1/executions/{first.json()['execution_id']}").json()["status"] == "running"
        )
    )
    refused = b.post("/v1/hooks/skipping/go", json={})
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["type"] == ConcurrencyLimitError.type_name and "limit of 1" in error["message"]
    direct = b.post("/v1/executions", json={"blueprint_id": "skipping"})
    assert direct.status_code == 429
    assert len(_executions(b, "skipping")) == 1  # the skipped fires started nothing
    store = Store(home)
    try:
        fires = recent_fires(store, "skipping:go")
    finally:
        store.close()
    assert [f.outcome for f in fires] == [FireOutcome.SKIPPED] and fires[0].status_code == 429
    a.post(f"/v1/executions/{first.json()['execution_id']}/cancel")


def test_cancel_oldest_cancels_the_other_process_run(
    two_servers: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = two_servers
    old = a.post("/v1/hooks/newest/go", json={}).json()["execution_id"]
    wait_for(lambda: a.get(f"/v1/executions/{old}").json()["status"] == "running")
    new = b.post("/v1/hooks/newest/go", json={}).json()["execution_id"]
    wait_for(lambda: a.get(f"/v1/executions/{old}").json()["status"] == "cancelled")
    assert b.get(f"/v1/executions/{new}").json()["status"] == "running"
    b.post(f"/v1/executions/{new}/cancel")


async def test_a_killed_owner_frees_its_slot(home: Path, tmp_path: Path) -> None:
    with serve_process(home, TOKEN) as url, httpx.Client(base_url=url, headers=AUTH) as client:
        held = client.post("/v1/hooks/skipping/go", json={}).json()["execution_id"]
        wait_for(lambda: client.get(f"/v1/executions/{held}").json()["status"] == "running")
        engine = Engine(home, base_dir=tmp_path, plugins=False)
        try:
            with pytest.raises(ConcurrencyLimitError):
                await engine.start(blueprint_id="skipping")
            _kill_server(home)
            execution_id = await engine.start(blueprint_id="skipping")
            assert engine.store is not None and slot_count(engine.store, "skipping") == (1, 0)
            assert await engine.cancel(execution_id)
            await engine.wait(execution_id)
            assert slot_count(engine.store, "skipping") == (0, 0)
        finally:
            await engine.close()


def _kill_server(home: Path) -> None:
    """``kill -9`` the serve process owning ``home``'s other lock file."""
    pids = {
        int(text) for lock in (home / "locks").glob("*.lock") if (text := lock.read_text().strip())
    }
    others = pids - {os.getpid()}
    assert len(others) == 1, pids
    pid = others.pop()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _alive(pid))


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
        os.kill(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        return False
    return True


async def test_queue_in_one_engine_runs_in_arrival_order(tmp_path: Path) -> None:
    engine = Engine(tmp_path / "home", base_dir=tmp_path, plugins=False)
    try:
        blueprint = limited("inline", "queue", 0.05, limit=2)
        ids = [await engine.start(blueprint=blueprint) for _ in range(6)]
        results = [await engine.wait(i) for i in ids]
        assert all(r.status == "completed" for r in results)
        spans = [(r.started_at or 0, r.finished_at or 0) for r in results]
        for moment, _ in spans:
            assert sum(1 for s, e in spans if s <= moment < e) <= 2, spans
        starts = [s for s, _ in spans]
        # In arrival order; two granted in the same turn of the loop (both slots freed
        # at once) stamp their start a few microseconds apart in either order.
        assert all(later >= earlier - 0.005 for earlier, later in itertools.pairwise(starts))
    finally:
        await engine.close()


async def test_a_resume_waits_in_line_instead_of_being_skipped(tmp_path: Path) -> None:
    engine = Engine(tmp_path / "home", base_dir=tmp_path, plugins=False)
    try:
        blueprint = limited("resumed", "skip", 30)
        earlier = await engine.start(blueprint=blueprint)
        assert await engine.cancel(earlier)
        assert (await engine.wait(earlier)).status == "cancelled"
        holder = await engine.start(blueprint=blueprint)
        with pytest.raises(ConcurrencyLimitError):
            await engine.start(blueprint=blueprint)
        resumed = await engine.resume(earlier, wait=False)
        assert resumed.status == "pending"
        async with asyncio.timeout(30):
            while engine.queue_position(earlier) != 1:  # its task waits for the slot
                await asyncio.sleep(0.01)
        assert (await engine.get_execution(earlier)).status == "pending"
        assert await engine.cancel(holder)
        async with asyncio.timeout(30):
            while (await engine.get_execution(earlier)).status != "running":
                await asyncio.sleep(0.02)
        assert await engine.cancel(earlier)
        await engine.wait(earlier)
    finally:
        await engine.close()


@pytest.mark.parametrize("transport", ["direct", "ipc", "http"])
async def test_skip_is_a_typed_refusal_on_every_transport(transport: str, tmp_path: Path) -> None:
    blueprint = limited("every-transport", "skip", 30)
    async with open_conductor(transport, tmp_path / "home", tmp_path) as conductor:
        running = await conductor.start(blueprint=blueprint)
        with pytest.raises(ConcurrencyLimitError, match="concurrency limit of 1"):
            await conductor.execute(blueprint=blueprint)
        assert await conductor.cancel(running)
        async for _event in conductor.events(running):
            pass  # until its terminal event: its slot is free by then
        result = await conductor.execute(blueprint=limited("every-transport", "skip", 0.01))
        assert result.success, result.error
