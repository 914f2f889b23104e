"""The value trial ``bench/reliability.py`` reports, as a test: no deep or non-JSON
output leaves an execution running or hung, on any transport."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.value_trial import value_trial


async def test_no_value_leaves_an_execution_running(tmp_path: Path) -> None:
    figures = await value_trial(tmp_path)
    assert figures["executions"] == 27
    assert (figures["left_running"], figures["hangs"]) == (0, 0)
    assert figures["wrong_outcomes"] == []
    assert figures["as_expected"] == 27
