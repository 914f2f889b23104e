"""Reading commands work on a read-only data dir; writing ones say why they cannot
(issue 11).

Real parts: a real read-only bind mount of a data dir written by a real run (root
only: ``chmod`` proves nothing for root, who writes anyway), the real ``conductor``
CLI in a subprocess, and the direct API. Two states of the dir are tried: closed
cleanly (no ``-wal``/``-shm``: SQLite cannot open it ``mode=ro`` there) and left by
a killed engine (its ``-wal`` and ``-shm`` still there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app import create_conductor
from app.errors import StoreError

ROOT = Path(__file__).resolve().parents[2]

BLUEPRINT = {
    "id": "ro",
    "nodes": [
        {"id": "a", "type": "set", "params": {"value": {"n": 1}}},
        {"id": "b", "type": "set", "params": {"value": "{{ 'y' * 300000 }}"}},  # spilled
    ],
}


@contextmanager
def read_only_view(source: Path) -> Iterator[Path]:
    """``source`` bind-mounted read-only at a fresh folder; unmounted afterwards.

    The unmount must succeed at once: a busy mount means Conductor left a file of
    the data dir open (it did: a failed writable open's connection). It is then
    detached lazily, so nothing is left behind, and the test fails.
    """
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    target = Path(tempfile.mkdtemp(prefix="conductor-ro-"))
    busy = ""
    try:
        done = subprocess.run(
            ["mount", "--bind", str(source), str(target)], capture_output=True, check=False
        )
        if done.returncode != 0:
            pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
        try:
            remount = subprocess.run(
                ["mount", "-o", "remount,bind,ro", str(target)], capture_output=True, check=False
            )
            if remount.returncode != 0:
                pytest.skip(f"cannot remount read-only: {remount.stderr.decode().strip()}")
            probe = target / "probe"
            with pytest.raises(OSError, match="Read-only file system"):  # even for root
                probe.write_text("x")
            yield target
        finally:
            umount = subprocess.run(["umount", str(target)], capture_output=True, check=False)
            if umount.returncode != 0:
                busy = umount.stderr.decode().strip()
                subprocess.run(["umount", "-l", str(target)], check=False)
    finally:
        target.rmdir()
    assert not busy, f"a file of the read-only data dir was left open: {busy}"


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("CONDUCTOR_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def record_a_run(home: Path, tmp_path: Path) -> str:
    blueprint = tmp_path / "ro.json"
    blueprint.write_text(json.dumps(BLUEPRINT))
    done = cli(home, "run", str(blueprint), "--json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["execution_id"])


KILLED_ENGINE = """
import asyncio, os, sys
from main_process.engine.engine import Engine

async def main():
    engine = Engine(sys.argv[1], plugins=False)
    node = {"id": "a", "type": "set", "params": {"value": 1}}
    await engine.execute(blueprint={"id": "k", "nodes": [node]})
    print("done", flush=True)
    os._exit(0)  # no close: the -wal and -shm files stay

asyncio.run(main())
"""


def assert_reads_work(view: Path, execution_id: str) -> None:
    listed = cli(view, "history", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    assert execution_id in {row["execution_id"] for row in json.loads(listed.stdout)}
    shown = cli(view, "show", execution_id, "--json")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert result["status"] == "completed"
    assert result["nodes"]["a"]["output"] == {"n": 1}
    assert result["nodes"]["b"]["output"] == "y" * 300000  # read from its spilled file
    table = cli(view, "show", execution_id)
    assert table.returncode == 0 and "completed" in table.stdout, table.stderr


def assert_writes_refused(view: Path, tmp_path: Path, execution_id: str) -> None:
    for args in (("run", str(tmp_path / "ro.json")), ("resume", execution_id)):
        done = cli(view, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert f"the data dir {view} is read-only" in done.stderr, done.stderr


def test_history_and_show_work_on_a_read_only_data_dir(home: Path, tmp_path: Path) -> None:
    execution_id = record_a_run(home, tmp_path)
    assert not (home / "conductor.db-wal").exists()  # closed cleanly: the hard case
    with read_only_view(home) as view:
        assert_reads_work(view, execution_id)
        assert_writes_refused(view, tmp_path, execution_id)
        assert sorted(os.listdir(view)) == sorted(os.listdir(home))  # nothing was made


def test_a_data_dir_left_by_a_killed_engine_reads_read_only(home: Path, tmp_path: Path) -> None:
    execution_id = record_a_run(home, tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_ENGINE, str(home)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.stdout.strip() == "done", killed.stderr
    assert (home / "conductor.db-wal").exists() and (home / "conductor.db-shm").exists()
    with read_only_view(home) as view:
        assert_reads_work(view, execution_id)
        listed = json.loads(cli(view, "history", "--json").stdout)
        assert {row["blueprint_id"] for row in listed} == {"ro", "k"}  # the WAL's too


async def test_the_direct_api_reads_a_read_only_data_dir(home: Path, tmp_path: Path) -> None:
    execution_id = record_a_run(home, tmp_path)
    with read_only_view(home) as view:
        conductor = create_conductor("direct", home=view, base_dir=tmp_path, plugins=False)
        try:
            listed = await conductor.list_executions()
            assert [row.execution_id for row in listed] == [execution_id]
            result = await conductor.get_execution(execution_id)
            assert result.nodes["b"].output == "y" * 300000
            events: list[Any] = [e async for e in conductor.events(execution_id)]
            assert events and events[-1].status == "completed"
            page = await conductor.node_output(execution_id, "b")
            assert page.size_bytes is not None
            with pytest.raises(StoreError, match="read-only"):
                await conductor.execute(blueprint=BLUEPRINT)
        finally:
            await conductor.close()


async def test_serve_reads_a_read_only_data_dir_and_says_it_needs_a_token(
    tmp_path: Path,
) -> None:
    """``serve`` on a read-only data dir once died with a traceback creating its token
    file; now it says to give a token, and with one it serves the recorded runs."""
    import httpx

    from tests.reliability.load_server import ServeProcess

    home = tmp_path / "home"
    execution_id = record_a_run(home, tmp_path)
    with read_only_view(home) as view:
        env = {**os.environ, "CONDUCTOR_HOME": str(view), "PYTHONPATH": str(ROOT)}
        env.pop("CONDUCTOR_TOKEN", None)
        refused = subprocess.run(
            [sys.executable, "-m", "app", "serve", "--port", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 2, refused.stderr
        assert "cannot create the token file" in refused.stderr and "--token" in refused.stderr
        assert "Traceback" not in refused.stderr
        async with (
            ServeProcess(view, tmp_path / "work") as server,
            httpx.AsyncClient(base_url=server.url, headers=server.headers) as http,
        ):
            listed = (await http.get("/v1/executions")).json()
            assert execution_id in {row["execution_id"] for row in listed}
            shown = await http.get(f"/v1/executions/{execution_id}")
            assert shown.status_code == 200 and shown.json()["status"] == "completed"
