"""Node functions of the crash blueprint: a side effect each, then a pure result.

Each call appends ``"<node_id> <pid> <attempt>"`` to the file named by the
execution's ``log`` input *before* it computes anything, with ``O_APPEND`` and one
``write`` call, so the line survives a SIGKILL of the process a moment later (the
kernel holds it). The harness counts these lines per node and per process to
prove side effects ran at least once and at most once more than the kills that
hit the node. The result depends only on the input and the node id, so a
resumed run's outputs can be compared with an uninterrupted run's.
"""

from __future__ import annotations

import asyncio
import os
import time
import zlib
from typing import Any

from main_process.nodes.base import NodeContext

_MODULUS = 1_000_003


def _side_effect(ctx: NodeContext) -> None:
    line = f"{ctx.node_id} {os.getpid()} {ctx.attempt}\n".encode()
    fd = os.open(ctx.inputs["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _result(value: Any, ctx: NodeContext) -> dict[str, Any]:
    base = value["value"] if isinstance(value, dict) and "value" in value else ctx.inputs["seed"]
    mixed = (int(base) * 31 + zlib.crc32(ctx.node_id.encode())) % _MODULUS
    return {"node": ctx.node_id, "value": mixed}


def step(value: Any, ctx: NodeContext) -> dict[str, Any]:
    """A blocking node (thread runner): side effect, a short pause, a result."""
    _side_effect(ctx)
    time.sleep(float(ctx.inputs.get("pause", 0.004)))
    return _result(value, ctx)


async def astep(value: Any, ctx: NodeContext) -> dict[str, Any]:
    """The same on the engine loop (inline runner)."""
    _side_effect(ctx)
    await asyncio.sleep(float(ctx.inputs.get("pause", 0.004)))
    return _result(value, ctx)


def total(value: Any, ctx: NodeContext) -> dict[str, Any]:
    """The last node: a side effect, and the sum of every lane's last value."""
    _side_effect(ctx)
    lanes = value if isinstance(value, dict) else {}
    values = sorted([key, item["value"]] for key, item in lanes.items())
    return {"lanes": values, "sum": sum(v for _, v in values) % _MODULUS}
