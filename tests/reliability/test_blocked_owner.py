"""A live execution is never declared dead because its owner's loop is blocked, and
a dead owner's execution is recovered at once (see blocked_owner for the setup).

Both run ``conductor run``, ``conductor history`` and ``conductor resume`` as real
subprocesses on one data dir; ``bench/reliability.py`` reports the same trial's
``double_runs_after_blocked_loop``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.blocked_owner import blocked_owner_trial, killed_owner_trial

pytestmark = pytest.mark.timeout(300)


# A long trial (10-20 s): kept out of .ci/run for its 10-minute budget; its figures
# come from bench/reliability.py and `pytest -m slow tests/reliability`.
@pytest.mark.slow
async def test_a_blocked_loop_keeps_its_execution(tmp_path: Path) -> None:
    """The owner's loop is blocked 20 s; past the old 15 s lease, ``history`` runs and
    ``resume`` is asked beside it: the execution stays ``running``, resume is refused
    with a ResumeError, and once let go the owner completes it exactly once."""
    figures = await blocked_owner_trial(tmp_path, block_seconds=20.0)
    assert figures["checked_while_blocked"], figures
    assert figures["loop_blocked_seconds"] >= 20.0, figures
    assert figures["status_seen_by_history"] == "running", figures
    assert figures["resume_exit_code"] == 2, figures
    assert figures["resume_error"]["type"] == "ResumeError", figures
    assert "running in another live process" in figures["resume_error"]["message"], figures
    assert figures["owner_exit_code"] == 0, figures
    assert figures["owner_status"] == "completed", figures
    assert figures["rows_written"] == 1, figures
    assert figures["node_outcomes"] == {
        "block:completed": 1,
        "save:completed": 1,
        "after:completed": 1,
    }, figures
    assert figures["execution_outcomes"] == {"completed": 1}, figures
    assert figures["lock_files_left"] == [], figures  # a clean exit removes its lock file
    assert figures["double_runs"] == 0, figures


async def test_a_killed_owner_is_interrupted_at_once_and_resumed(tmp_path: Path) -> None:
    """SIGKILL mid-node, the owner not even reaped yet (its pid still answers): the very
    next ``history`` marks the execution interrupted — no lease to wait out — and
    ``resume`` runs it to the end, the row written once."""
    figures = await killed_owner_trial(tmp_path)
    assert figures["owner_was_unreaped"], figures
    assert figures["status_seen_by_history"] == "interrupted", figures
    assert figures["resume_exit_code"] == 0, figures
    assert figures["resume_status"] == "completed", figures
    assert figures["rows_written"] == 1, figures
    assert figures["execution_outcomes"] == {"interrupted": 1, "completed": 1}, figures
    assert figures["node_outcomes"]["save:completed"] == 1, figures
    assert figures["double_runs"] == 0, figures
