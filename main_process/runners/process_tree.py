"""Finding and killing everything a node's child process started.

A node's child runs in its own process group, and killing the group takes most of
what it started. Not all: a grandchild that called ``setsid`` (a daemonising script,
``nohup … &``, ``setsid sleep``) leads a group of its own, and would outlive the
node's timeout, holding its output pipe open. So before a child is killed, its
descendants are collected from ``/proc`` (Linux; elsewhere only the group is killed)
and killed with their own groups. Collected first, killed after: killing a parent
first would hand its children to init, out of reach.

Gap (documented): a descendant whose parent had already exited before the kill (a
double fork) is a child of init by then, and is not found.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

_PROC = Path("/proc")


def _parents() -> dict[int, int]:
    """pid → parent pid of every process we can see."""
    parents: dict[int, int] = {}
    for entry in _PROC.iterdir() if _PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces or ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children first), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    stack = list(children.get(pid, ()))
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, ()))
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``'s group, its descendants and their groups; gone ones are skipped."""
    found = descendants(pid)
    groups = {pid}
    for child in found:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(child))
    groups.discard(os.getpgrp())  # never our own (a descendant cannot join it; be sure)
    for group in groups:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
    for target in (pid, *found):
        with contextlib.suppress(OSError):
            os.kill(target, signal.SIGKILL)
