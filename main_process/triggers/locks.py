"""Which process fires a trigger: the one holding its lock, released by the OS.

One file per trigger under ``<data dir>/locks/triggers/`` (its name a hash of the
trigger id), ``flock``-ed exclusively without waiting. The kernel drops the lock
when its holder dies however it dies, so another process (``conductor serve`` or
the app's worker on the same data dir) takes the trigger over at its next attempt,
and two live processes never both hold it: one schedule never fires twice.

The files are never removed (a removed file could be locked by one process while
another creates and locks its successor), and they live in their own folder so the
sweep of dead engines' lock files (:mod:`main_process.store.owner_lock`) never sees
them. Descriptors are close-on-exec and closed in a forked child, so no child keeps
a dead parent's trigger "taken".
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import weakref
from pathlib import Path

from main_process.store.owner_lock import LOCKS_DIR

_HELD: weakref.WeakSet[TriggerLock] = weakref.WeakSet()


def trigger_lock_path(home: Path, trigger_id: str) -> Path:
    digest = hashlib.sha256(trigger_id.encode()).hexdigest()[:32]
    return home / LOCKS_DIR / "triggers" / f"{digest}.lock"


class TriggerLock:
    """A try-lock on one trigger; :meth:`acquire` never waits."""

    def __init__(self, home: Path, trigger_id: str) -> None:
        self.path = trigger_lock_path(home, trigger_id)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this object holds it."""
        if self._fd is not None:
            return True
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return False  # a read-only data dir fires nothing
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        _HELD.add(self)
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        _HELD.discard(self)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _forget_in_child(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _after_fork_in_child() -> None:
    for lock in list(_HELD):
        lock._forget_in_child()
    _HELD.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
