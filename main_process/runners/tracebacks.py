"""Tracebacks of failed nodes, and how a process ended, worded the same everywhere.

Its own module because both the engine (thread and inline nodes) and the process
runner's child (which must stay light to start fast) format them, and a process
node's failure should read like a thread node's.
"""

from __future__ import annotations

import linecache
import signal
import traceback


def format_traceback(exc: BaseException) -> str:
    """The exception's traceback, without 3.11's caret lines: those re-compile every
    source line and cost ~0.3 ms per failure, a third of a failing run's budget.

    Source lines come from :mod:`linecache` as it holds them, without the ``stat()``
    per file that ``traceback.StackSummary`` does to notice edited files: a module's
    code is what was imported, so the lines read then are the ones that ran.
    """
    lines: list[str] = []
    cause = exc.__cause__
    if cause is not None and cause is not exc:
        # Raised ``from`` another (a stream's failure from the user's generator): its
        # frames are where the user's code is, so they come first, as Python prints them.
        lines += [_own_frames(cause), _CAUSE_LINE]
    lines.append(_own_frames(exc))
    return "".join(lines)


_CAUSE_LINE = "\nThe above exception was the direct cause of the following exception:\n\n"


def _own_frames(exc: BaseException) -> str:
    lines = ["Traceback (most recent call last):\n"]
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        code = frame.f_code
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}\n')
        source = linecache.getline(code.co_filename, lineno, frame.f_globals).strip()
        if source:
            lines.append(f"    {source}\n")
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
