"""The vault: the secrets of one data dir, in the OS keyring or an encrypted file.

Secrets belong to the process that runs the engine (the app's worker, ``conductor
serve``, a direct CLI run); ``conductor --remote … secrets set`` sets them on the
server. The backend is chosen on first use, never at engine start (importing
``keyring`` and asking D-Bus costs time nobody should pay for a run without secrets):

* ``keyring`` when the machine has a usable keyring service
  (:func:`~main_process.secrets.keyring_backend.usable_keyring`);
* otherwise ``file``: ``secrets.enc`` + a 0600 ``secrets.key`` in the data dir
  (:mod:`main_process.secrets.file_backend`).

``CONDUCTOR_SECRETS_BACKEND=file|keyring`` forces one (tests, or a user who prefers
the file). Every value set through the vault is handed to the process's redactor
(:data:`~app.redaction.REDACTOR`) at once, as is every value read
for a template, so it is masked wherever it would be recorded.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

from app.errors import ConfigError
from app.redaction import REDACTOR
from app.secret_rules import check_name, check_value

__all__ = ["BACKEND_ENV", "Vault"]

BACKEND_ENV = "CONDUCTOR_SECRETS_BACKEND"


class Backend(Protocol):
    name: str

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> bool: ...
    def names(self) -> list[str]: ...


def _choose(home: Path, wanted: str | None) -> Backend:
    from main_process.secrets.file_backend import FileBackend
    from main_process.secrets.keyring_backend import KeyringBackend, usable_keyring

    wanted = (wanted or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if wanted not in ("auto", "file", "keyring"):
        raise ConfigError(
            f"{BACKEND_ENV} is 'auto', 'file' or 'keyring', not {wanted!r}", where=BACKEND_ENV
        )
    if wanted == "file":
        return FileBackend(home)
    backend = usable_keyring()
    if backend is not None:
        return KeyringBackend(home, backend)
    if wanted == "keyring":
        raise ConfigError(
            "no usable OS keyring on this machine (the file backend works everywhere)",
            where=BACKEND_ENV,
        )
    return FileBackend(home)


class Vault:
    """get / set / delete / names of one data dir's secrets (see the module docs).

    Calls block (a keyring may ask D-Bus, the file backend reads and decrypts): the
    engine calls them off its loop, except for a template's lookup, which is as
    short as reading a cached dict.
    """

    def __init__(self, home: Path | str, *, backend: str | None = None) -> None:
        self.home = Path(home)
        self._wanted = backend
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> Backend:
        """The backend in use, chosen on first use."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = _choose(self.home, self._wanted)
        return self._backend

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def get(self, name: str) -> str | None:
        """The secret's value (None when unset); the value joins the redactor."""
        value = self.backend.get(check_name(name))
        if value is not None:
            REDACTOR.add(value)
        return value

    def set(self, name: str, value: str) -> None:
        """Set (or replace) a secret; SecretError for a bad name or a too short value."""
        check_name(name)
        check_value(value)
        REDACTOR.add(value)  # before it is stored: nothing may record it unmasked
        self.backend.set(name, value)

    def delete(self, name: str) -> bool:
        """Remove a secret; False when it was not set. (Its value stays masked in this
        process: a record made after its deletion still never shows it.)"""
        return self.backend.delete(check_name(name))

    def names(self) -> list[str]:
        """Every secret's name, sorted; never a value."""
        return self.backend.names()
