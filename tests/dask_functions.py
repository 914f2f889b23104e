"""Importable node functions for the ``runner: dask`` tests and bench: the Dask workers
import them by name (they find this package on ``PYTHONPATH``, as the engine does)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def pid(value: Any) -> dict[str, Any]:
    """The process that ran the node (a Dask worker's, the test asserts)."""
    return {"pid": os.getpid(), "input": value}


def pid_with_log(value: Any, ctx: Any) -> dict[str, Any]:
    """Logs a line through the node context, then answers like :func:`pid`."""
    ctx.log("hello from a worker", worker_pid=os.getpid())
    return {"pid": os.getpid(), "attempt": ctx.attempt}


def slow_marked(value: dict[str, Any]) -> dict[str, Any]:
    """Append this process's pid to ``value["marker"]``, then sleep ``value["seconds"]``
    (in short steps): a test sees where the task runs, and can kill that process."""
    with open(value["marker"], "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + float(value["seconds"])
    while time.monotonic() < deadline:
        time.sleep(0.02)
    return {"pid": os.getpid()}


def sleep_until_gone(value: dict[str, Any]) -> int:
    """Mark the start in ``value["marker"]``, then sleep while that file exists (at most
    ``value["seconds"]``): cancelled and timed-out tasks are let go by the test."""
    marker = Path(value["marker"])
    marker.write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + float(value.get("seconds", 30))
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid()


def square(item: int) -> int:
    return item * item


def item_pid(item: Any) -> int:
    """The process that handled this item."""
    return os.getpid()


def fail_on_seven(item: int) -> int:
    if item == 7:
        raise ValueError(f"seven is not welcome (item {item})")
    return item


def spin(item: int) -> int:
    """About ``item`` milliseconds of pure-Python work (the bench's CPU-bound item)."""
    deadline = time.perf_counter() + item / 1000.0
    n = 0
    while time.perf_counter() < deadline:
        n += 1
    return n


def double_with_pid(item: int) -> list[int]:
    """The item doubled, and the process that doubled it (a worker's, the test asserts)."""
    return [item * 2, os.getpid()]


def fail_on_1234(item: int) -> int:
    if item == 1234:
        raise ValueError("1234 is not welcome")
    return item


def nap(item: int) -> int:
    """20 ms per item: a chunk stays on the cluster long enough to be cancelled."""
    time.sleep(0.02)
    return item
