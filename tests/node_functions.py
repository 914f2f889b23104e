"""Importable node functions for tests (``python.function`` and spawned engines).

Side effects go to the file named by ``CONDUCTOR_TEST_LOG`` (one line per call),
so a test can count how often each node really ran, across processes and kills.
"""

from __future__ import annotations

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
