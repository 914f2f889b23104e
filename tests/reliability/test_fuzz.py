"""Fuzzed input, zero crashes: blueprints on every transport, malformed frames against
a live worker, schemathesis against the live server. The CI sizes keep the file near
half a minute; the ``slow`` variants run the full counts (``-m slow``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.fuzz_harness import (
    TRANSPORTS,
    bad_count,
    fuzz_blueprints,
    fuzz_http_schema,
    fuzz_ipc_frames,
)

SEED = 20240611


def assert_clean(figures: dict[str, Any], cases: int) -> None:
    """Every count that must be zero is, the target still serves, and all cases ran."""
    assert figures["cases"] >= cases, figures
    assert bad_count(figures) == 0, (figures["failures"], figures["notes"])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_fuzzed_blueprints(transport: str) -> None:
    figures = await fuzz_blueprints(transport, 60, SEED)
    assert_clean(figures, 60)
    assert figures["executed"] > 0 and figures["by_label"]["valid"] > 0


async def test_malformed_frames_against_a_live_worker() -> None:
    figures = await fuzz_ipc_frames(1_000, SEED)
    assert_clean(figures, 1_000)
    assert figures["worker_alive_after"] and figures["corrupt_header_ok"]


async def test_schemathesis_against_the_live_server() -> None:
    figures = await fuzz_http_schema(5, SEED)
    assert_clean(figures, 100)
    assert figures["schema_mismatches"] == 0, figures["notes"]


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_fuzzed_blueprints_full(transport: str) -> None:
    figures = await fuzz_blueprints(transport, 2_000, SEED + 1)
    assert_clean(figures, 2_000)


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_ten_thousand_malformed_frames() -> None:
    figures = await fuzz_ipc_frames(10_000, SEED + 1)
    assert_clean(figures, 10_000)
    assert figures["worker_alive_after"] and figures["corrupt_header_ok"]


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_schemathesis_full() -> None:
    figures = await fuzz_http_schema(100, SEED + 1)
    assert_clean(figures, 2_000)
    # Repeated query parameters were accepted (the last one won); now refused.
    assert figures["schema_mismatches"] == 0, figures["notes"]
