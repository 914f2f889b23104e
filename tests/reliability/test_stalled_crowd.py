"""Issue 11: 200 SSE clients of one run that never read must not take the server.

A real ``conductor serve`` process with its default event-stream budget
(:mod:`tests.reliability.load_crowd`). The server's RSS stays within twice its idle
RSS, ``/v1/health`` keeps answering, and afterwards every client — the ones the
server dropped resuming with ``Last-Event-ID`` — reads every event, gap-free, to the
end. The CI version runs 2,000 events (each stalled stream could still hold many
times its share); the ``slow`` one 50,000 (the drain is 200 copies of the run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reliability.load_crowd import stalled_crowd

CLIENTS = 200
#: The issue's bar: the server's RSS under the crowd, over its idle RSS.
MAX_RSS_RATIO = 2.0
#: Slowest health answer while the crowd stalls (the issue saw 22 s). The figure is
#: reported; the bar leaves room for a loaded CI machine.
MAX_HEALTH_MS = 1000.0


def check_crowd(figures: dict[str, Any]) -> None:
    assert figures["status"] == "completed", figures
    assert figures["rss_ratio"] <= MAX_RSS_RATIO, figures
    assert figures["health_checks"] > 0 and figures["health_failures"] == 0, figures
    assert figures["health_max_ms"] < MAX_HEALTH_MS, figures
    assert figures["dropped_clients"] > 0, figures  # the budget did act...
    assert figures["clients_complete"] == CLIENTS and figures["gaps"] == 0, figures  # ...losslessly


# A long trial (10-20 s): kept out of .ci/run for its 10-minute budget; its figures
# come from bench/reliability.py and `pytest -m slow tests/reliability`.
@pytest.mark.slow
async def test_200_stalled_sse_clients_cost_the_server_at_most_its_budget(tmp_path: Path) -> None:
    check_crowd(await stalled_crowd(CLIENTS, 2_000, tmp_path))


@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_200_stalled_sse_clients_of_a_long_run(tmp_path: Path) -> None:
    check_crowd(await stalled_crowd(CLIENTS, 50_000, tmp_path))


async def test_the_budget_is_set_by_a_flag_of_serve(tmp_path: Path) -> None:
    """20 stalled clients fit the default budget; ``serve --max-sse-buffer-bytes``
    makes it small enough that they are dropped — and still lose nothing."""
    figures = await stalled_crowd(
        20, 2_000, tmp_path, serve_args=("--max-sse-buffer-bytes", "100000")
    )
    assert figures["dropped_clients"] > 0, figures
    assert figures["clients_complete"] == 20 and figures["gaps"] == 0, figures
