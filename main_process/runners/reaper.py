"""Children that die with their engine, even under ``kill -9``.

A node's child process runs in its own session, so a kill of the engine's process
group does not reach it, and a ``kill -9`` of the engine runs no clean-up at all: a
``shell.command`` child went on running after its engine was gone (and a resume then
started a second copy). So each engine process has a *reaper*: a small process
started on first need, reading the process groups of live node children from a pipe.
When the pipe reaches EOF — the kernel closes it when the engine dies, however it
dies — the reaper kills every group it was told of, and every descendant of their
leaders with its own group (``setsid`` grandchildren included, as
:mod:`main_process.runners.process_tree` does on a timeout), and exits. The pipe's
end is not inherited by node children (Python's pipes are non-inheritable), so a
child cannot hold it open.

The reaper itself is ``python -S`` with nothing imported but the standard library's
``os``/``signal``/``sys``: ~15 ms once per engine process, nothing per node.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable

#: The reaper's program: ``+pgid`` registers a group, ``-pgid`` forgets it; EOF kills.
_PROGRAM = r"""
import os, signal, sys
groups = set()
for line in sys.stdin.buffer:
    line = line.strip()
    if line[:1] == b"+":
        groups.add(int(line[1:]))
    elif line[:1] == b"-":
        groups.discard(int(line[1:]))
children = {}
for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
    if name.isdigit():
        try:
            with open("/proc/%s/stat" % name) as fh:
                stat = fh.read()
        except OSError:
            continue
        children.setdefault(int(stat[stat.rfind(")") + 2:].split()[1]), []).append(int(name))
targets = set()
stack = list(groups)
while stack:
    pid = stack.pop()
    if pid not in targets:
        targets.add(pid)
        stack.extend(children.get(pid, ()))
for pid in targets:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid if kill is os.kill else os.getpgid(pid), signal.SIGKILL)
        except OSError:
            pass
"""


class Reaper:
    """The engine side: tell the reaper which process groups to kill if we die."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pid = 0

    def _pipe(self) -> subprocess.Popen[bytes] | None:
        if self._process is None or self._pid != os.getpid():
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-S", "-c", _PROGRAM],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError:
                self._process = None
                return None
            self._pid = os.getpid()
        return self._process

    def _send(self, line: bytes) -> None:
        with self._lock:
            process = self._pipe()
            if process is None or process.stdin is None:
                return
            with contextlib.suppress(OSError):
                process.stdin.write(line)
                process.stdin.flush()

    def preexec(self) -> Callable[[], None] | None:
        """A ``preexec_fn`` by which a new child registers itself, before it runs anything.

        Registering from the parent after the spawn left a window in which a killed
        engine left its newest child behind (a test hit it one time in three). The
        child, between fork and exec, writes ``+pid`` to the reaper's pipe itself — its
        own session, so ``pid`` is its group. The pipe's end is still open there (it
        is closed at exec); the write is one syscall of a few bytes, atomic on a pipe.
        """
        if os.name != "posix":
            return None
        with self._lock:
            process = self._pipe()
        if process is None or process.stdin is None:
            return None
        fd = process.stdin.fileno()

        def register() -> None:
            os.write(fd, b"+%d\n" % os.getpid())

        return register

    def release(self, pgid: int) -> None:
        """The child in group ``pgid`` has ended: the reaper forgets it."""
        if os.name == "posix" and self._process is not None:
            self._send(b"-%d\n" % pgid)


REAPER = Reaper()
