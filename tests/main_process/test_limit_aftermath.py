"""After an evaluation limit fired, the thread runs on as before (found merging issue
14: nodes hung for ever once a template had timed out earlier in the process).

The limit's exception is raised in the evaluating thread with
``PyThreadState_SetAsyncExc``; clearing a pending one with ``NULL`` left CPython 3.11's
eval breaker signalled for good, and a plain function then called under a profile hook
(how straight-line ``def`` nodes run on the loop) never returned. Each case runs in a
fresh interpreter with a deadline, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(body: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        """
        import sys, time
        from app.evaluation_limits import EvaluationTimeout, TimeLimit
        {body}
        f = lambda value: {{"n": value}}
        sys.setprofile(lambda *args: None)
        try:
            assert f(1) == {{"n": 1}}
        finally:
            sys.setprofile(None)
        print("returned")
        """
    ).format(body=textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _check(body: str) -> None:
    try:
        done = _run(body)
    except subprocess.TimeoutExpired:
        raise AssertionError("a plain call under a profile hook never returned") from None
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "returned"


def test_a_call_returns_after_a_limit_interrupted_its_block() -> None:
    _check(
        """
        try:
            with TimeLimit(0.05):
                while True:
                    time.sleep(0.001)
        except EvaluationTimeout:
            pass
        """
    )


def test_a_call_returns_after_a_limit_fired_as_its_block_ended() -> None:
    # The block ends normally after its deadline, maybe before the watchdog fired:
    # either way the limit raises at its end and leaves nothing pending.
    _check(
        """
        for _ in range(20):
            try:
                with TimeLimit(0.0):
                    time.sleep(0.03)
            except EvaluationTimeout:
                pass
        time.sleep(0.2)  # a late exception would arrive by now
        """
    )
