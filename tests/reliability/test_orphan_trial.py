"""The orphan trial that ``bench/reliability.py`` reports: no process outlives its
node's engine (``kill -9``) or its node's timeout."""

from __future__ import annotations

from tests.reliability.orphan_trial import orphan_trial


async def test_the_orphan_trial_leaves_no_process_behind() -> None:
    figures = await orphan_trial(repeats=1)
    if "skipped" in figures:
        return
    assert figures["problems"] == [], figures
    assert figures["processes_watched"] == 6, figures  # each case's shell and its child
    assert figures["orphans_left"] == 0, figures
