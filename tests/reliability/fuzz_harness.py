"""Fuzz targets, importable without pytest: each runs N cases and returns figures.

* :func:`fuzz_blueprints` — generated blueprints (valid, and corrupted: wrong types,
  missing fields, cycles, dangling edges, huge and deep values, odd Unicode, bad
  templates) through ``validate`` and ``execute`` on one transport;
* :func:`fuzz_ipc_frames` — malformed frames (random bytes, truncations, wrong kinds
  and versions, oversized and deeply nested payloads, invalid UTF-8) to one live
  worker, with valid requests interleaved;
* :func:`fuzz_http_schema` — schemathesis against the live server's OpenAPI document.

Every result is a JSON-ready dict with ``cases`` and the counts that must be zero —
``crashes``, ``hangs``, ``untyped_errors``, ``wrong_answers`` — plus whether the target
``serves_after``, a ``by_label`` breakdown and the first ``failures`` as sentences.
:func:`run_all` runs the lot (what ``bench/reliability.py`` prints).
"""

from __future__ import annotations

from typing import Any

from tests.reliability.blueprint_fuzz import fuzz_blueprints
from tests.reliability.http_fuzz import fuzz_http_schema
from tests.reliability.ipc_fuzz import fuzz_ipc_frames

__all__ = [
    "TRANSPORTS",
    "bad_count",
    "fuzz_blueprints",
    "fuzz_http_schema",
    "fuzz_ipc_frames",
    "run_all",
]

TRANSPORTS = ("direct", "ipc", "http")
_MUST_BE_ZERO = ("crashes", "hangs", "untyped_errors", "wrong_answers")


def bad_count(figures: dict[str, Any]) -> int:
    """How many things went wrong in one target's figures (0 for a clean run)."""
    return sum(int(figures[key]) for key in _MUST_BE_ZERO) + (not figures["serves_after"])


async def run_all(
    *, blueprints: int = 1_000, frames: int = 10_000, http_examples: int = 100, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Every target at the given sizes, keyed by target name."""
    results: dict[str, dict[str, Any]] = {}
    for transport in TRANSPORTS:
        results[f"blueprints/{transport}"] = await fuzz_blueprints(transport, blueprints, seed)
    results["ipc_frames"] = await fuzz_ipc_frames(frames, seed)
    results["http_schema"] = await fuzz_http_schema(http_examples, seed)
    return results
