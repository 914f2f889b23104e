"""Importable node functions for tests (``python.function`` and spawned engines).

Side effects go to the file named by ``CONDUCTOR_TEST_LOG`` (one line per call),
so a test can count how often each node really ran, across processes and kills.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any


def record(value: Any) -> Any:
    """Append one line to the test log and pass the value on, plus one step."""
    log = os.environ.get("CONDUCTOR_TEST_LOG")
    step = int(value.get("step", 0)) + 1 if isinstance(value, dict) else 1
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{step}\n")
    return {"step": step}


def block_while_file(value: Any) -> Any:
    """Wait while the file named by ``CONDUCTOR_TEST_BLOCK`` exists (a crash target)."""
    marker = os.environ.get("CONDUCTOR_TEST_BLOCK")
    while marker and Path(marker).exists():
        time.sleep(0.01)
    return record(value)


def boom(value: Any) -> Any:
    raise ValueError("boom: this node always fails")


def fail_while_file(value: Any) -> Any:
    """Fail while the file named by ``CONDUCTOR_TEST_FAIL`` exists, then record."""
    marker = os.environ.get("CONDUCTOR_TEST_FAIL")
    if marker and Path(marker).exists():
        raise RuntimeError(f"failing while {marker} exists")
    return record(value)


def _note_pid(value: Any) -> None:
    """Append this process's pid to ``value["pidfile"]``, when given."""
    path = value.get("pidfile") if isinstance(value, dict) else None
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")


def sleep_noting_pid(value: Any) -> int:
    """Note the pid, then block for ``value["seconds"]`` (60): a runaway node."""
    _note_pid(value)
    time.sleep(float(value.get("seconds", 60)) if isinstance(value, dict) else 60.0)
    return os.getpid()


def stuck_on_first_attempt(value: Any, ctx: Any) -> dict[str, int]:
    """Block (noting the pid) on attempt 1; answer with pid and attempt after that."""
    if ctx.attempt == 1:
        sleep_noting_pid(value)
    return {"pid": os.getpid(), "attempt": ctx.attempt}


def pid(value: Any) -> int:
    return os.getpid()


async def async_double(value: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"doubled": value["x"] * 2}


def context_echo(value: Any, ctx: Any) -> dict[str, Any]:
    """Log a line and echo what the context shows; set a variable if asked."""
    ctx.log("hello from the node", "info", n=1)
    if isinstance(value, dict) and value.get("set_variable"):
        ctx.set_variable("k", 1)
    return {
        "node_id": ctx.node_id,
        "attempt": ctx.attempt,
        "execution_id": ctx.execution_id,
        "inputs": ctx.inputs,
        "upstream": ctx.upstream,
        "variable": ctx.get_variable("v", "none"),
    }


def not_json(value: Any) -> Any:
    return object()


def log_after_returning(value: Any, ctx: Any) -> Any:
    """Leave a thread behind that logs once ``value["go"]`` exists, then touches
    ``value["sent"]`` (a stale log line for the next call on the same worker)."""
    import threading

    go, sent = Path(value["go"]), Path(value["sent"])

    def later() -> None:
        while not go.exists():
            time.sleep(0.005)
        ctx.log("stale line from an earlier call")
        sent.touch()

    threading.Thread(target=later, daemon=True).start()
    return value


def release_and_wait(value: Any, ctx: Any) -> Any:
    """Let the thread :func:`log_after_returning` left behind log, and wait until it has.

    Once ``sent`` exists the line is on the worker's socket (sent whole, under the
    sender's lock, before the touch), so it reaches the engine before this reply."""
    Path(value["go"]).touch()
    while not Path(value["sent"]).exists():
        time.sleep(0.005)
    return "done"


async def slow_to_cancel(value: Any) -> Any:
    """Sleep for ``seconds``; when cancelled, note it in ``marker`` (a file path, so a
    test in another process sees it) and take ``cleanup`` seconds before giving up:
    a node whose cancellation is still cleaning up when the next cancel arrives.
    Each call first notes ``started`` in ``<marker>.started``."""
    marker = value.get("marker")
    if marker:
        with open(f"{marker}.started", "a", encoding="utf-8") as f:
            f.write("started\n")
    try:
        await asyncio.sleep(float(value.get("seconds", 60)))
    except asyncio.CancelledError:
        if marker:
            with open(marker, "a", encoding="utf-8") as f:
                f.write("cancelling\n")
        await asyncio.sleep(float(value.get("cleanup", 0.3)))
        raise
    return value


def loop_item(value: Any) -> Any:
    """A loop body's step: note the index in the test log; fail at the index named by
    the file ``CONDUCTOR_TEST_FAIL`` while it exists; output the item doubled."""
    log = os.environ.get("CONDUCTOR_TEST_LOG")
    index = value["index"]
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{index}\n")
    marker = os.environ.get("CONDUCTOR_TEST_FAIL")
    if marker and Path(marker).exists() and Path(marker).read_text().strip() == str(index):
        raise RuntimeError(f"item {index} fails while {marker} names it")
    block = os.environ.get("CONDUCTOR_TEST_BLOCK")
    while block and Path(block).exists() and Path(block).read_text().strip() == str(index):
        time.sleep(0.01)
    return value["item"] * 2
