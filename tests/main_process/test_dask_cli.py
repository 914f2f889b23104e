"""``runner: dask`` end to end: Dask's own ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, and ``conductor --dask-scheduler ... run`` as a real CLI
process pointed at them. Also: a run without Dask never imports it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).parent / "dask"


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("CONDUCTOR_API_URL", None)
    env.pop("CONDUCTOR_DASK_SCHEDULER", None)
    return env


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop each process we started and everything it started (its own session)."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """``dask scheduler`` + two ``dask worker``: the address and the workers' pids."""
    if not DASK.exists():
        pytest.skip("the dask command is not installed")
    distributed = pytest.importorskip("distributed")
    scheduler_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen[bytes]] = []
    logs = tmp_path / "dask-logs"
    logs.mkdir()

    def start(name: str, *args: str) -> None:
        with open(logs / f"{name}.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [str(DASK), *args],
                    cwd=tmp_path,
                    env=_env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    try:
        start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert time.monotonic() < deadline, (logs / "scheduler.log").read_text()
            assert procs[0].poll() is None, (logs / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for n in (1, 2):
            start(
                f"worker{n}",
                "worker",
                address,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--name",
                f"w{n}",
            )
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
            pids = sorted(client.run(os.getpid).values())
        yield address, pids
    finally:
        _stop(procs)


@pytest.mark.slow
def test_conductor_run_on_dask_scheduler_and_worker_processes(
    dask_cluster: tuple[str, list[int]], tmp_path: Path, home: Path
) -> None:
    address, worker_pids = dask_cluster
    blueprint = {
        "id": "on-dask",
        "nodes": [
            {
                "id": "where",
                "type": "python.function",
                "runner": "dask",
                "params": {"function": "tests.dask_functions:pid"},
            },
            {"id": "items", "type": "set", "params": {"value": [5] * 200}},
            {
                "id": "map",
                "type": "python.function",
                "runner": "dask",
                "params": {"function": "tests.dask_functions:item_pid", "per_item": True},
            },
        ],
        "edges": [{"source": "where", "target": "items"}, {"source": "items", "target": "map"}],
        "outputs": {"where": "where", "map": "map"},
    }
    path = tmp_path / "on-dask.json"
    path.write_text(json.dumps(blueprint), encoding="utf-8")
    done = _cli("--dask-scheduler", address, "run", str(path), "--json", home=home)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "completed"
    assert result["outputs"]["where"]["pid"] in worker_pids
    assert set(result["outputs"]["map"]) == set(worker_pids)  # both workers took batches

    # conductor serve --dask-scheduler: an http client runs on the server's cluster ...
    serve = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0", "--dask-scheduler", address],
        cwd=ROOT,
        env=_env(CONDUCTOR_HOME=str(home)),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert serve.stderr is not None
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", serve.stderr.readline())
        assert found, serve.stderr.read()
        url = found.group(1)
        remote = _cli("--remote", url, "run", str(path), "--json", home=home)
        assert remote.returncode == 0, remote.stderr
        assert json.loads(remote.stdout)["outputs"]["where"]["pid"] in worker_pids
        # ... and does not choose one itself.
        chosen = _cli("--remote", url, "--dask-scheduler", address, "run", str(path), home=home)
        assert chosen.returncode == 2
        assert "serve --dask-scheduler" in chosen.stderr
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(timeout=15)


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=_env(CONDUCTOR_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_run_without_runner_dask_does_not_import_dask(tmp_path: Path, home: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from app.api import create_conductor

        async def main():
            c = create_conductor("direct", home={str(home)!r}, plugins=False,
                                 dask_scheduler="tcp://127.0.0.1:8786")
            try:
                bp = {{"id": "plain", "nodes": [
                    {{"id": "a", "type": "python.function", "runner": "process",
                      "params": {{"function": "tests.dask_functions:pid"}}}},
                    {{"id": "b", "type": "set", "params": {{"value": 1}}}}]}}
                result = await c.execute(blueprint=bp)
                assert result.success, result.error
                assert not await c.validate(bp)
            finally:
                await c.close()
            loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
            print(loaded)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_dask_bench_runs_small() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "scale_dask.py"),
            "--json",
            "--items",
            "40",
            "--item-ms",
            "1",
            "--latency-runs",
            "3",
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["items"] == 40
    assert set(report["map_seconds"]) == {"thread", "process", "dask"}
    assert report["per_item_overhead_ms"] > 0
    assert "added_ms" in report["latency"]
