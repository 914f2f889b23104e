"""Secrets in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker).

The ``keyring`` package speaks to whichever the machine has. A keyring has no
listing call, so the names live in the keyring too, as a JSON list under the entry
:data:`INDEX`. The service name is derived from the data dir's resolved path, so two
data dirs (a test's, the user's) never see each other's secrets.

:func:`usable_keyring` tells a real backend from ``keyring``'s stand-ins for "none":
``keyring.backends.fail`` (a fresh Debian, CI) or a chainer with nothing to chain;
the vault then falls back to the file backend. It never prompts for anything.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import orjson

from app.errors import SecretError

__all__ = ["INDEX", "KeyringBackend", "service_name", "usable_keyring"]

#: The entry holding the list of names (not a valid secret name, so it never clashes).
INDEX = "conductor:index"


def service_name(home: Path) -> str:
    """The keyring service of one data dir."""
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:16]
    return f"conductor-{digest}"


def usable_keyring() -> Any:
    """The machine's keyring backend, or None when ``keyring`` is missing or has none."""
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration is "no keyring"
        return None
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


class KeyringBackend:
    """Secrets of one data dir in the OS keyring (see the module docstring)."""

    name = "keyring"

    def __init__(self, home: Path, backend: Any) -> None:
        self.service = service_name(home)
        self._keyring = backend
        self._lock = threading.Lock()

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            # The keyring's message never holds the value (it is not given to errors).
            raise SecretError(
                f"the OS keyring refused to {what}: {type(exc).__name__}", where="secrets"
            ) from None

    def _index(self) -> list[str]:
        raw = self._call("read", self._keyring.get_password, self.service, INDEX)
        if not raw:
            return []
        try:
            names = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return []
        return sorted(str(n) for n in names) if isinstance(names, list) else []

    def _write_index(self, names: list[str]) -> None:
        self._call(
            "write", self._keyring.set_password, self.service, INDEX, orjson.dumps(sorted(names))
        )

    def get(self, name: str) -> str | None:
        value = self._call("read", self._keyring.get_password, self.service, name)
        return None if value is None else str(value)

    def names(self) -> list[str]:
        with self._lock:
            return self._index()

    def set(self, name: str, value: str) -> None:
        with self._lock:
            self._call("write", self._keyring.set_password, self.service, name, value)
            names = self._index()
            if name not in names:
                self._write_index([*names, name])

    def delete(self, name: str) -> bool:
        with self._lock:
            names = self._index()
            existed = self.get(name) is not None
            if existed:
                from keyring.errors import PasswordDeleteError

                try:
                    self._keyring.delete_password(self.service, name)
                except PasswordDeleteError:
                    existed = False
                except Exception as exc:
                    raise SecretError(
                        f"the OS keyring refused to delete: {type(exc).__name__}", where="secrets"
                    ) from None
            if name in names:
                self._write_index([n for n in names if n != name])
            return existed
