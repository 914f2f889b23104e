"""Secrets in an encrypted file in the data dir, for machines without a keyring service.

``secrets.enc`` holds every secret as one Fernet token (AES-128-CBC + HMAC-SHA256,
from ``cryptography``) of a JSON object; the key is ``secrets.key`` beside it,
created ``0600``. Its strength is the key file's permissions: anyone who can read
``secrets.key`` (the same user, root, a backup of the data dir) can read the secrets.
It keeps them out of blueprint files, records and casual reading, never from the
account itself. There is never a password prompt: the engine runs unattended.

Every write is a read-modify-write under a lock file (``secrets.lock``, an OS lock
released when its holder dies) and lands with a temp file + ``os.replace``, so two
processes never lose each other's changes and a crash mid-write leaves the old file
whole. Reads are cached by the file's identity (inode, size, mtime).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from app.errors import SecretError

__all__ = ["FileBackend"]

DATA_FILE = "secrets.enc"
KEY_FILE = "secrets.key"
LOCK_FILE = "secrets.lock"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive OS lock on ``path`` (released by the OS if this process dies)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: one process per data dir
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    """``data`` at ``path`` all at once: a temp file (0600), fsync, rename, fsync dir."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # the rename itself is durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class FileBackend:
    """Secrets of one data dir in ``secrets.enc``, keyed by ``secrets.key`` (0600)."""

    name = "file"

    def __init__(self, home: Path) -> None:
        self.home = home
        self.data_path = home / DATA_FILE
        self.key_path = home / KEY_FILE
        self.lock_path = home / LOCK_FILE
        self._fernet: Any = None
        self._cache: tuple[tuple[int, int, int], dict[str, str]] | None = None
        self._lock = threading.Lock()

    # -- the key ---------------------------------------------------------------------

    def _cipher(self, *, create: bool) -> Any:
        """The Fernet of the key file (made, 0600, when ``create`` and absent); None
        when there is no key yet and none was to be made."""
        if self._fernet is not None:
            return self._fernet
        from cryptography.fernet import Fernet

        try:
            key = self.key_path.read_bytes().strip()
        except FileNotFoundError:
            if not create:
                return None
            key = Fernet.generate_key()
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                key = self.key_path.read_bytes().strip()
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(key + b"\n")
                    out.flush()
                    os.fsync(out.fileno())
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise SecretError(
                f"the secrets key file {self.key_path} is damaged: {exc}", where="secrets"
            ) from None
        return self._fernet

    # -- reading and writing ----------------------------------------------------------

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            st = self.data_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _load(self) -> dict[str, str]:
        """Every secret, decrypted (cached while the file is unchanged)."""
        identity = self._identity()
        if identity is None:
            return {}
        cached = self._cache
        if cached is not None and cached[0] == identity:
            return cached[1]
        cipher = self._cipher(create=False)
        if cipher is None:
            raise SecretError(
                f"{self.data_path} exists but its key file {self.key_path} is missing: "
                "the secrets cannot be read",
                where="secrets",
            )
        from cryptography.fernet import InvalidToken

        try:
            data = orjson.loads(cipher.decrypt(self.data_path.read_bytes()))
        except (InvalidToken, orjson.JSONDecodeError):
            raise SecretError(
                f"{self.data_path} cannot be decrypted with {self.key_path} "
                "(damaged, or the key was replaced)",
                where="secrets",
            ) from None
        if not isinstance(data, dict):
            raise SecretError(f"{self.data_path} holds no secrets object", where="secrets")
        values = {str(k): str(v) for k, v in data.items()}
        self._cache = (identity, values)
        return values

    def _save(self, values: dict[str, str]) -> None:
        cipher = self._cipher(create=True)
        token = cipher.encrypt(orjson.dumps(values, option=orjson.OPT_SORT_KEYS))
        _write_atomic(self.data_path, token)
        self._cache = None

    # -- the backend's operations -----------------------------------------------------

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._load().get(name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._load())

    def set(self, name: str, value: str) -> None:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock, _file_lock(self.lock_path):
            values = dict(self._load())
            values[name] = value
            self._save(values)

    def delete(self, name: str) -> bool:
        if not self.data_path.exists():
            return False
        with self._lock, _file_lock(self.lock_path):
            values = dict(self._load())
            if values.pop(name, None) is None:
                return False
            self._save(values)
            return True
