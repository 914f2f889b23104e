"""Who is alive, told by the operating system: one locked file per engine.

Each engine that records executions holds an exclusive ``flock`` on its own file,
``<data dir>/locks/<owner id>.lock``, from its start until :meth:`OwnerLock.release`
(its clean close, which also removes the file). The kernel drops the lock when the
process dies, however it dies (``kill -9``, a crash, the OOM killer), and never
while the process lives, however long its event loop is blocked. So "is the owner of
this execution alive" is :func:`lock_held`: try to take a shared lock without
waiting; if it can be taken, nobody holds the file any more.

Why ``flock`` and not ``fcntl``/``lockf`` record locks: a record lock belongs to the
process, so closing *any* descriptor of the file (our own probe's) would release it,
and a probe from the same process would always succeed. A ``flock`` lock belongs to
the open file description: two engines in one process each hold their own, and a
probe from the same process sees them held. The descriptor is not inherited across
``exec``, and a child made by a bare ``fork`` closes its copy at once
(:func:`os.register_at_fork`), so no child keeps a dead engine "alive".

A lock file on a network file system may not be locked reliably; the store itself
(SQLite in WAL mode) needs a local disk anyway.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import time
import weakref
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The folder of the data dir that holds the engines' lock files.
LOCKS_DIR = "locks"

#: What a lock file's name looks like (an owner id, then ``.lock``); a name read from
#: the store that does not match is never opened.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}\.lock")
#: The suffix of a lock file being made (see :class:`OwnerLock`).
_TEMP = ".tmp"
#: A temporary file older than this whose lock can be taken was left by a crash.
_TEMP_MAX_AGE = 60.0

#: Descriptors held in this process, closed (not unlocked) in a forked child.
_HELD: weakref.WeakSet[OwnerLock] = weakref.WeakSet()


def lock_name(owner_id: str) -> str:
    """The lock file's name for an owner id (what an execution row records)."""
    name = f"{owner_id}.lock"
    if not _NAME.fullmatch(name):
        raise ValueError(f"owner id {owner_id!r} cannot name a lock file")
    return name


def lock_path(root: Path, name: str) -> Path:
    return root / LOCKS_DIR / name


class OwnerLock:
    """An engine's lock, held from construction until :meth:`release`.

    Raises OSError when the file cannot be created or locked (a read-only data dir):
    the caller then records its executions without a lock (see
    :func:`main_process.store.recovery.owner_alive` for such rows).
    """

    def __init__(self, root: Path, owner_id: str) -> None:
        self.name = lock_name(owner_id)
        self.path = lock_path(root, self.name)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created and locked under a temporary name, then renamed: a file with a lock
        # file's name is locked for as long as its owner lives, never before, so a
        # sweep (:func:`sweep_dead_locks`) may remove any such file it can lock.
        temp = self.path.with_name(self.name + _TEMP)
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, f"{os.getpid()}\n".encode())  # for a person looking at the dir
            os.rename(temp, self.path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        self._fd: int | None = fd
        _HELD.add(self)
        # An engine dropped without close (a script that forgot it) stops owning its
        # executions when it is collected, as it did with the old in-process registry.
        self._finalizer = weakref.finalize(self, _release, fd, self.path)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the file and drop the lock (idempotent). Once released, every
        execution this owner left unfinished counts as orphaned."""
        if self._fd is None:
            return
        self._fd = None
        _HELD.discard(self)
        self._finalizer()

    def _forget_in_child(self) -> None:
        """In a forked child: close the inherited descriptor without unlocking (the
        lock belongs to the description the parent still uses) or unlinking."""
        fd, self._fd = self._fd, None
        self._finalizer.detach()
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _release(fd: int, path: Path) -> None:
    # Unlink first: a prober that opened the file before this sees it unlocked next.
    with contextlib.suppress(OSError):
        path.unlink()
    with contextlib.suppress(OSError):
        os.close(fd)


def _after_fork_in_child() -> None:
    for held in list(_HELD):
        held._forget_in_child()
    _HELD.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def lock_held(root: Path, name: str) -> bool:
    """Whether the lock file ``name`` is held by a live process (this one included).

    A missing file means its owner closed cleanly; a file that can be locked means
    its owner died. A name that is not a lock file's, or a file this user may not
    open, is taken as held: never declare an owner dead on a guess.
    """
    if not _NAME.fullmatch(name):
        log.warning("execution row names an invalid owner lock %r; taken as alive", name)
        return True
    try:
        fd = os.open(lock_path(root, name), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("cannot open owner lock %s: %s; taken as alive", name, exc)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError as exc:
        log.warning("cannot probe owner lock %s: %s; taken as alive", name, exc)
        return True
    finally:
        os.close(fd)  # also drops the shared lock we may have taken
    return False


def sweep_dead_locks(root: Path) -> int:
    """Remove the lock files of owners that are gone; returns how many.

    Removing a file that can be locked changes no verdict (a missing file and an
    unlocked one both mean "gone"), so this is safe beside live owners and probes.
    """
    folder = root / LOCKS_DIR
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    removed = 0
    for entry in entries:
        name = entry.name
        if name.endswith(_TEMP):
            if not _NAME.fullmatch(name[: -len(_TEMP)]):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime < _TEMP_MAX_AGE:
                    continue  # an engine may be making it right now
        elif not _NAME.fullmatch(name):
            continue
        removed += _remove_if_unlocked(Path(entry.path))
    return removed


def _remove_if_unlocked(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return 0
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink()
    except OSError:
        return 0
    finally:
        os.close(fd)
    return 1


def take_owner_lock(root: Path, owner_id: str) -> OwnerLock | None:
    """A new owner's lock, after sweeping the files of owners killed before; None
    (its rows then name no lock, and its pid decides) when the data dir does not
    let it make one (a read-only data dir)."""
    try:
        lock = OwnerLock(root, owner_id)
    except OSError as exc:
        # A read-only data dir is expected (``history`` on a mounted copy): quietly.
        quiet = exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
        log.log(logging.DEBUG if quiet else logging.WARNING, "no owner lock in %s: %s", root, exc)
        return None
    sweep_dead_locks(root)
    return lock


def owner_identity(
    root: Path, store: object | None, owner_id: str
) -> tuple[OwnerLock | None, dict[str, Any]]:
    """An engine's lock (none without a store: it records nothing) and the owner
    fields its execution rows carry."""
    from main_process.store.recovery import HOST

    lock = None if store is None else take_owner_lock(root, owner_id)
    fields: dict[str, Any] = {
        "owner_id": owner_id,
        "owner_pid": os.getpid(),
        "owner_host": HOST,
        "owner_lock": None if lock is None else lock.name,
    }
    return lock, fields
