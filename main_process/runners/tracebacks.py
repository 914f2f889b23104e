"""Tracebacks of failed nodes, and how a process ended, worded the same everywhere.

Its own module because both the engine (thread and inline nodes) and the process
runner's child (which must stay light to start fast) format them, and a process
node's failure should read like a thread node's.
"""

from __future__ import annotations

import signal
import traceback


def format_traceback(exc: BaseException) -> str:
    """The exception's traceback, without 3.11's caret lines: those re-compile every
    source line and cost ~0.3 ms per failure, a third of a failing run's budget."""
    lines = ["Traceback (most recent call last):\n"]
    frames = traceback.StackSummary.extract(
        traceback.walk_tb(exc.__traceback__), lookup_lines=False
    )  # lines are read lazily below, from linecache, without a stat() per frame
    for frame in frames:
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n')
        if frame.line:
            lines.append(f"    {frame.line.strip()}\n")
    lines.extend(traceback.format_exception_only(exc))
    return "".join(lines)


def exit_reason(code: int | None) -> str:
    """How a child process ended, as the end of a sentence ("... was killed by signal
    SIGKILL"): for a failed ``shell.command`` and a lost process-runner worker."""
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
