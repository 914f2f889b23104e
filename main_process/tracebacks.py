"""Tracebacks of failed nodes, formatted the same wherever the node ran.

Its own module because both the engine (thread and inline nodes) and the process
runner's child (which must stay light to start fast) format them, and a process
node's failure should read like a thread node's.
"""

from __future__ import annotations

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
