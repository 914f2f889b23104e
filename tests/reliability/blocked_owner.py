"""A live owner whose event loop is blocked, and a dead one: who may take over.

Real parts throughout: the owner is a ``conductor run`` subprocess whose first node
(a ``python.function`` coroutine calling ``time.sleep``) blocks its event loop
until this side lets it go; the other processes are ``conductor history`` and
``conductor resume`` subprocesses on the same data dir. Then a ``sqlite.write``
node writes one row. Before owner locks, a loop blocked past the 15 s lease let
``history`` mark the execution ``interrupted`` and ``resume`` run it a second time
beside the original (two rows, "completed" twice).

The figures come from the files themselves: the row count of the written table,
and the node and execution outcomes in the store's event log read with SQLite
directly (no engine that could recover anything first).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from main_process.store.chunks import decode_chunk

ROOT = Path(__file__).resolve().parents[2]

#: The old lease: an owner that had not renewed it for this long counted as dead.
OLD_LEASE_SECONDS = 15.0

BLOCKER = """\
import os
import time
from pathlib import Path

HERE = Path(__file__).parent


async def block(value):
    # A coroutine that never awaits: the whole event loop of its engine stops here.
    began = time.time()
    (HERE / "blocking").write_text(str(began))
    deadline = time.monotonic() + 300
    while not (HERE / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (HERE / f"blocked_for-{os.getpid()}").write_text(str(time.time() - began))
    return [{"n": 1}]
"""

BLUEPRINT = {
    "id": "blocked-owner",
    "nodes": [
        {"id": "block", "type": "python.function", "params": {"function": "blocker:block"}},
        {"id": "save", "type": "sqlite.write", "params": {"database": "out.db", "table": "rows"}},
        {"id": "after", "type": "log", "params": {"message": "saved"}},
    ],
}


def cli_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home)}
    env.pop("CONDUCTOR_API_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def prepare(tmp: Path) -> tuple[Path, Path]:
    """The data dir and the blueprint's folder (with its function module)."""
    home, work = tmp / "home", tmp / "work"
    home.mkdir(parents=True)
    work.mkdir(parents=True)
    (work / "blocker.py").write_text(BLOCKER)
    (work / "blocked.json").write_text(json.dumps(BLUEPRINT))
    return home, work


def start_cli(home: Path, work: Path, *args: str) -> subprocess.Popen[str]:
    """A ``conductor`` command left running in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(home),
        cwd=work,
    )


async def cli(home: Path, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One ``conductor`` command in its own process."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=cli_env(home),
        cwd=work,
        timeout=120,
        check=False,
    )


async def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not path.exists():
            if proc.poll() is not None:
                raise AssertionError(f"the owner exited early: {proc.communicate()}")
            await asyncio.sleep(0.05)


def history_status(listing: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``{execution_id: status}`` from ``conductor history --json``."""
    if listing.returncode != 0:
        raise AssertionError(f"history failed: {listing.stderr}")
    return {row["execution_id"]: row["status"] for row in json.loads(listing.stdout)}


def recorded_outcomes(home: Path, execution_id: str) -> tuple[Counter[str], Counter[str]]:
    """Terminal events in the store's log: per node (``node:status``), and the
    execution's own statuses."""
    nodes: Counter[str] = Counter()
    execution: Counter[str] = Counter()
    conn = sqlite3.connect(home / "conductor.db")
    try:
        for (chunk,) in conn.execute(
            "SELECT chunk FROM events WHERE execution_id = ? ORDER BY first_seq", (execution_id,)
        ):
            for row in decode_chunk(execution_id, chunk):
                kind, node_id, status = row[3], row[4], row[5]
                if kind == "node" and status in ("completed", "failed", "cancelled"):
                    nodes[f"{node_id}:{status}"] += 1
                elif kind == "execution" and status not in ("pending", "running", "paused"):
                    execution[str(status)] += 1
    finally:
        conn.close()
    return nodes, execution


def _dead_but_unreaped(pid: int) -> bool:
    """The child has exited and its pid is still held (a zombie): asked without
    reaping it, as ``Popen.poll`` would."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return info is not None and info.si_pid == pid


def rows_written(work: Path) -> int:
    path = work / "out.db"
    if not path.exists():
        return 0
    conn = sqlite3.connect(path)
    try:
        (count,) = conn.execute("SELECT COUNT(*) FROM rows").fetchone()
    finally:
        conn.close()
    return int(count)


def double_runs(work: Path, nodes: Counter[str], execution: Counter[str]) -> int:
    """Side effects and completions beyond one each."""
    extra = max(0, rows_written(work) - 1)
    extra += sum(count - 1 for count in nodes.values() if count > 1)
    return extra + max(0, execution["completed"] - 1)


async def blocked_owner_trial(tmp: Path, block_seconds: float = 20.0) -> dict[str, Any]:
    """The owner's loop blocked ``block_seconds``; past the old lease, ``history`` and
    ``resume`` run beside it; then it is let go and finishes."""
    home, work = prepare(tmp)
    owner = start_cli(home, work, "run", str(work / "blocked.json"), "--json")
    resumers: list[subprocess.Popen[str]] = []
    try:
        await wait_for(work / "blocking", owner)
        began = float((work / "blocking").read_text())
        # Past the moment the old lease would have lapsed (no waiting on anything
        # else exists: the owner can tell nothing while its loop is blocked).
        await asyncio.sleep(max(0.0, began + OLD_LEASE_SECONDS + 1.0 - time.time()))
        listing = await cli(home, work, "history", "--json")
        seen = history_status(listing)
        (execution_id,) = seen
        # A resume that is not refused runs the execution again: it is left to, and
        # its side effects are counted.
        resumer = start_cli(home, work, "resume", execution_id, "--json")
        resumers.append(resumer)
        while resumer.poll() is None and time.time() < began + block_seconds:
            await asyncio.sleep(0.05)
        still_blocked = not (work / f"blocked_for-{owner.pid}").exists()
        await asyncio.sleep(max(0.0, began + block_seconds - time.time()))
        (work / "release").touch()
        out, err = await asyncio.to_thread(owner.communicate, timeout=120)
        resumed_out, _ = await asyncio.to_thread(resumer.communicate, timeout=120)
    finally:
        for proc in (owner, *resumers):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    result = json.loads(out) if out.strip() else {}
    nodes, execution = recorded_outcomes(home, execution_id)
    answer = json.loads(resumed_out) if resumed_out.strip() else {}
    return {
        "loop_blocked_seconds": round(float((work / f"blocked_for-{owner.pid}").read_text()), 1),
        "checked_while_blocked": still_blocked,
        "status_seen_by_history": seen[execution_id],
        "resume_exit_code": resumer.returncode,
        "resume_error": answer.get("error", {}),
        "owner_exit_code": owner.returncode,
        "owner_status": result.get("status"),
        "owner_stderr_tail": err[-500:],
        "rows_written": rows_written(work),
        "node_outcomes": dict(nodes),
        "execution_outcomes": dict(execution),
        "lock_files_left": sorted(p.name for p in (home / "locks").glob("*")),
        "double_runs": double_runs(work, nodes, execution),
    }


async def killed_owner_trial(tmp: Path) -> dict[str, Any]:
    """The owner killed (SIGKILL) mid-node and not yet reaped: ``history`` marks its
    execution interrupted at once, and ``resume`` runs it to the end."""
    home, work = prepare(tmp)
    owner = start_cli(home, work, "run", str(work / "blocked.json"), "--json")
    try:
        await wait_for(work / "blocking", owner)
        os.kill(owner.pid, signal.SIGKILL)
        killed = time.monotonic()
        # Not reaped yet: a zombie's pid still answers ``kill(pid, 0)``.
        listing = await cli(home, work, "history", "--json")
        marked_after = time.monotonic() - killed
        seen = history_status(listing)
        (execution_id,) = seen
        zombie = _dead_but_unreaped(owner.pid)
        (work / "release").touch()
        resumed = await cli(home, work, "resume", execution_id, "--json")
    finally:
        if owner.poll() is None:
            owner.kill()
        owner.wait()
    nodes, execution = recorded_outcomes(home, execution_id)
    result = json.loads(resumed.stdout) if resumed.stdout.strip() else {}
    return {
        "status_seen_by_history": seen[execution_id],
        "seconds_kill_to_history_answer": round(marked_after, 2),
        "owner_was_unreaped": zombie,
        "resume_exit_code": resumed.returncode,
        "resume_status": result.get("status"),
        "resume_stderr_tail": resumed.stderr[-500:],
        "rows_written": rows_written(work),
        "node_outcomes": dict(nodes),
        "execution_outcomes": dict(execution),
        "double_runs": double_runs(work, nodes, execution),
    }
