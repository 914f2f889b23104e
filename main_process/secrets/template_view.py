"""``{{ secrets.NAME }}`` in templates: a lookup into the engine process's vault.

Not a mapping on purpose: a template can read one secret by name and nothing else
(no ``secrets.items()``, no listing of values). An unset name fails the render with
:class:`~app.errors.SecretNotFoundError`; validation reports it before the run
(:mod:`app.secret_refs`). Every value read joins the process's redactor
(:meth:`~main_process.secrets.vault.Vault.get`), so the node's outputs, errors and
logs that echo it are recorded with ``••••``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.errors import SecretNotFoundError

if TYPE_CHECKING:
    from main_process.secrets.vault import Vault

__all__ = ["SecretsView"]


class SecretsView:
    """``secrets`` as templates see it (see the module docstring)."""

    __slots__ = ("_vault",)

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def __getitem__(self, name: str) -> str:
        value = self._vault.get(name) if isinstance(name, str) else None
        if value is None:
            raise SecretNotFoundError(
                f"secret {name!r} is not set (conductor secrets set {name})", where="secrets"
            )
        return value

    def __repr__(self) -> str:
        return "<secrets>"
