"""A store on a data dir Conductor may not write: reading commands work, writing ones
are refused with an error that names the data dir.

Why this needs care: the database is in WAL mode, and SQLite opens a WAL database
read-only only when its ``-shm`` and ``-wal`` files exist or can be created. A data
dir left by a cleanly closed engine has neither (the last connection removes them),
so on a read-only mount (a backup, a container volume, another user's copy) a plain
``mode=ro`` open fails. Then the file is opened ``immutable``: SQLite reads it without
locks or a WAL, which is right because nobody can write it. A ``-wal`` file left
without its ``-shm`` (a crashed engine whose ``-shm`` was removed) cannot be read
either way; its last transactions are then not seen, and a warning says so.

The writer side of such a store (:class:`ReadOnlyWriter`) has the surface of the
:class:`~main_process.store.commits.Committer`: nothing is ever queued, so every
flush is done at once, and queueing a write raises the read-only error.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
from pathlib import Path
from typing import NoReturn

from app.errors import StoreError
from app.limits import setting
from main_process.store.ops import FlushCallback, Op
from main_process.store.schema import SCHEMA_VERSION

log = logging.getLogger(__name__)

#: Errors of an open that say the data dir may not be written.
_READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


def not_writable(root: Path, database: Path, exc: BaseException) -> bool:
    """Whether a failed open of a writable store failed because the data dir (or its
    database) may not be written, while the database is there to be read."""
    if not database.is_file():
        return False
    if isinstance(exc, OSError) and exc.errno in _READ_ONLY_ERRNOS:
        return True
    return not os.access(root, os.W_OK) or not os.access(database, os.W_OK)


def read_only_error(root: Path, doing: str = "record anything") -> StoreError:
    """The error for a write asked of a read-only data dir."""
    return StoreError(
        f"the data dir {root} is read-only, so Conductor cannot {doing} there;"
        " only reading commands (history, show) work on it",
        where=str(root),
    )


def open_read_only(database: Path) -> sqlite3.Connection:
    """A read-only connection to ``database`` (see the module docs for the two ways).

    ``mode=ro`` is tried only where it can work (its ``-shm`` is there, or can be
    made): a failed try is not free, since SQLite keeps the file of a closed
    connection open while another connection in the process uses the same file,
    and an ``immutable`` one never releases it (a read-only mount then stays busy).
    Raises StoreError when the file cannot be read, or when its schema is not this
    Conductor's (an older one would need a migration, which is a write).
    """
    shm = database.with_name(database.name + "-shm")
    conn: sqlite3.Connection | None = None
    if shm.exists() or os.access(database.parent, os.W_OK):
        with contextlib.suppress(sqlite3.Error):
            conn = _connect(f"file:{database}?mode=ro")
    if conn is None:
        wal = database.with_name(database.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            log.warning(
                "%s cannot be read on a read-only data dir: the last changes it holds "
                "are not shown",
                wal,
            )
        try:
            conn = _connect(f"file:{database}?mode=ro&immutable=1")
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot read the store at {database}: {exc}", where=str(database)
            ) from None
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            f"the store at {database} has schema version {version} and this Conductor "
            f"reads version {SCHEMA_VERSION}; it cannot be converted on a read-only data dir",
            where=str(database),
        )
    return conn


def _connect(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(
        uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10.0
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file now
    except sqlite3.Error:
        conn.close()
        raise
    return conn


class _RefusedQueue:
    """The write queue of a read-only store: always empty; appending is refused."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def append(self, op: Op) -> NoReturn:
        raise read_only_error(self._root)

    def __len__(self) -> int:
        return 0


class ReadOnlyWriter:
    """The writer side of a read-only store (see the module docs)."""

    def __init__(self, root: Path) -> None:
        self.ops = _RefusedQueue(root)
        self.write_error: BaseException | None = None
        self.retry_seconds: float = setting("store_retry_seconds")
        self.max_queued_ops = 0

    def wake(self) -> None:
        """Nothing to commit."""

    def maybe_wake(self) -> None:
        """Nothing to commit."""

    def add_bytes(self, size: int) -> None:
        """Nothing to commit."""

    async def flush(self) -> None:
        """Nothing is ever queued, so everything queued is committed."""

    def flush_sync(self, timeout: float = 30.0) -> None:
        """See :meth:`flush`."""

    def request_flush(self, callback: FlushCallback) -> None:
        callback(None)

    def group_commit(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def commit_now(self) -> asyncio.Future[None] | None:
        """Nothing is queued: committed already."""
        return None

    def close(self) -> None:
        """Nothing to stop."""
