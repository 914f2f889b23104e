"""The engine's secrets: the vault of its data dir, the operations on it, and the
check that every ``{{ secrets.NAME }}`` a blueprint reads is set before it runs.

Kept apart from :class:`~main_process.engine.engine.Engine` (which holds one
:class:`SecretOps`): the vault's calls block (a keyring may ask D-Bus, the file
backend decrypts), so every operation here runs them on a thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.blueprint import Blueprint, as_blueprint
from app.errors import BlueprintError, ConductorError, Problem
from app.secret_refs import SecretRef, missing_secret_problems, secret_references
from app.transport import BlueprintArg
from main_process.secrets.template_view import SecretsView
from main_process.secrets.vault import Vault

__all__ = ["SecretOps"]


def _reads_secrets(engine_json: bytes) -> bool:
    """Whether a blueprint's JSON mentions ``secrets`` at all (one C-speed search): a
    blueprint without the word is not walked, and the vault is not touched."""
    return b"secrets" in engine_json


class SecretOps:
    """List, set and delete secrets; check a blueprint's references against them."""

    def __init__(self, home: Path) -> None:
        self.vault = Vault(home)
        #: ``secrets`` as node templates see it.
        self.view = SecretsView(self.vault)

    async def names(self) -> list[str]:
        return await asyncio.to_thread(self.vault.names)

    async def set(self, name: str, value: str) -> None:
        await asyncio.to_thread(self.vault.set, name, value)

    async def delete(self, name: str) -> bool:
        return await asyncio.to_thread(self.vault.delete, name)

    async def problems(
        self, blueprint: Blueprint, engine_json: bytes | None = None
    ) -> list[Problem]:
        """A problem for each reference to an unset secret (none read no vault)."""
        if engine_json is not None and not _reads_secrets(engine_json):
            return []
        refs: list[SecretRef] = list(secret_references(blueprint))
        if not refs:
            return []
        known = set(await self.names())
        return missing_secret_problems(blueprint, known)

    async def with_problems(self, blueprint: BlueprintArg, found: list[Problem]) -> list[Problem]:
        """``found`` (validation's problems) and those of unset secrets: a document that
        does not parse names no secret."""
        try:
            model = as_blueprint(blueprint)
        except ConductorError:
            return found
        return found + await self.problems(model)

    async def check(self, blueprint: Blueprint, engine_json: bytes) -> None:
        """BlueprintError naming each node and field that reads an unset secret."""
        problems = await self.problems(blueprint, engine_json)
        if problems:
            n = len(problems)
            raise BlueprintError(
                f"blueprint {blueprint.id!r} is invalid: {n} problem{'s' if n != 1 else ''}",
                problems=problems,
            )
