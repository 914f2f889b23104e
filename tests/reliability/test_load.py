"""Load (issue 6, part 3): many concurrent executions, and a stalled event consumer.

Each test runs a scenario of :mod:`tests.reliability.load_harness` against a real
``conductor serve`` process or a spawned pipe worker and judges its figures. The
CI versions use 50 executions; the ``slow`` ones the issue's 200 (and a million
events for the stalled client). The harness waits on conditions (every stream's
terminal event, RSS that stopped falling, the server closing a connection), so
nothing here sleeps and hopes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reliability.load_harness import load_http, load_ipc, stalled_sse

CI_EXECUTIONS = 50
FULL_EXECUTIONS = 200
#: RSS after a burst, relative to before it (after an equal warm-up burst).
MAX_RSS_RATIO = 1.10
#: Growth of the server's RSS allowed while a stalled client's run emits its events.
#: Before the event log was bounded, 300,000 events grew the server by ~116 MB.
MAX_STALLED_GROWTH_MB = 64.0


def check_burst(figures: dict[str, Any], n: int) -> None:
    """Every execution ended as its job expects, with a complete gap-free stream, the
    health check never failed, and memory came back."""
    summary = {k: v for k, v in figures.items() if k != "error_samples"}
    assert figures["executions"] == n, summary
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["stuck"] == 0, summary
    assert figures["terminal"] == n, summary
    assert figures["wrong_status"] == 0, figures["error_samples"]
    assert figures["incomplete_streams"] == 0, summary
    assert figures["gaps"] == 0, summary
    assert set(figures["by_status"]) == {"completed", "failed", "cancelled"}, summary
    assert figures["health_checks"] > 0 and figures["health_failures"] == 0, summary
    assert figures["rss_ratio"] <= MAX_RSS_RATIO, summary


def check_stalled(figures: dict[str, Any], max_growth_mb: float) -> None:
    """The server stayed small and responsive, and the stalled client, once it read,
    got every event and was let go."""
    assert figures["status"] == "completed", figures
    assert figures["request_failures"] == 0 and figures["requests"] > 0, figures
    assert figures["growth_mb"] < max_growth_mb, figures
    assert figures["complete"] and figures["gaps"] == 0, figures
    assert figures["drained_events"] == figures["last_seq"] > figures["events"], figures
    assert figures["released"], figures


async def test_a_burst_through_conductor_serve(tmp_path: Path) -> None:
    check_burst(await load_http(CI_EXECUTIONS, tmp_path), CI_EXECUTIONS)


async def test_a_burst_through_the_pipe(tmp_path: Path) -> None:
    check_burst(await load_ipc(CI_EXECUTIONS, tmp_path), CI_EXECUTIONS)


# A long trial (10-20 s): kept out of .ci/run for its 10-minute budget; its figures
# come from bench/reliability.py and `pytest -m slow tests/reliability`.
@pytest.mark.slow
async def test_a_stalled_sse_client_does_not_grow_the_server(tmp_path: Path) -> None:
    check_stalled(await stalled_sse(300_000, tmp_path), MAX_STALLED_GROWTH_MB)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_200_at_once_through_conductor_serve(tmp_path: Path) -> None:
    check_burst(await load_http(FULL_EXECUTIONS, tmp_path), FULL_EXECUTIONS)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_200_at_once_through_the_pipe(tmp_path: Path) -> None:
    check_burst(await load_ipc(FULL_EXECUTIONS, tmp_path), FULL_EXECUTIONS)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_client_stalled_for_a_million_events(tmp_path: Path) -> None:
    check_stalled(await stalled_sse(1_000_000, tmp_path), MAX_STALLED_GROWTH_MB)
