"""Python functions that the bundled example blueprints call through ``python.function``.

They live in an importable module (not beside the examples) so an example runs the
same from the CLI, the GUI's worker and ``conductor serve`` whatever the working
directory. Each takes the node's input and returns plain JSON data.
"""

from __future__ import annotations

import asyncio
from typing import Any

#: Upper bound on generated items, so a typo in an input cannot exhaust memory.
MAX_ITEMS = 5_000_000


def generate_items(input: Any) -> list[dict[str, Any]]:
    """``count`` items (from the input object, default 1000) with an id, a group and a value.

    Values repeat with period 97 and groups with period 10, so sums and filters over
    the result are easy to check by hand.
    """
    count = input.get("count", 1000) if isinstance(input, dict) else 1000
    count = int(count)
    if not 0 <= count <= MAX_ITEMS:
        raise ValueError(f"count must be between 0 and {MAX_ITEMS}, got {count}")
    return [{"id": i, "group": f"g{i % 10}", "value": i % 97} for i in range(count)]


async def emit_logs(input: Any, ctx: Any) -> int:
    """Log ``count`` lines (from the input object, default 1000): a blueprint that makes
    many events, for watching a busy run live and for throughput benchmarks."""
    count = input.get("count", 1000) if isinstance(input, dict) else 1000
    count = int(count)
    if not 0 <= count <= MAX_ITEMS:
        raise ValueError(f"count must be between 0 and {MAX_ITEMS}, got {count}")
    for i in range(count):
        ctx.log(f"line {i}")
        if i % 500 == 499:
            await asyncio.sleep(0)  # a cooperative node: followers stream while it works
    return count
