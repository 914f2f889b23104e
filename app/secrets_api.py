"""``conductor.secrets``: list, set and delete the engine process's secrets.

A part of :class:`~app.api.Conductor` (composition: the facade holds one and hands
it its ``_ask``), so every transport carries the same three operations and the same
typed errors. Names are checked here first (:mod:`app.secret_rules`) so a bad one
fails before it travels; values are checked by the engine, which never echoes one.
"""

from __future__ import annotations

import builtins

from app.operation_base import Ask
from app.secret_operations import (
    DeleteSecretRequest,
    ListSecretsRequest,
    SecretDeletedReply,
    SecretNamesReply,
    SetSecretRequest,
)
from app.secret_rules import check_name, check_value

__all__ = ["SecretsApi"]


class SecretsApi:
    """The secrets of whichever engine the transport reaches (see the module docs)."""

    __slots__ = ("_ask",)

    def __init__(self, ask: Ask) -> None:
        self._ask = ask

    async def list(self) -> list[str]:
        """Every secret's name, sorted (never a value)."""
        reply: SecretNamesReply = await self._ask(ListSecretsRequest(), SecretNamesReply)
        return reply.result

    async def set(self, name: str, value: str) -> builtins.list[str]:
        """Set (or replace) a secret; returns every name. SecretError for a bad name or
        a value shorter than 4 characters."""
        request = SetSecretRequest(name=check_name(name), value=check_value(value))
        reply: SecretNamesReply = await self._ask(request, SecretNamesReply)
        return reply.result

    async def delete(self, name: str) -> bool:
        """Remove a secret; False when it was not set."""
        request = DeleteSecretRequest(name=check_name(name))
        reply: SecretDeletedReply = await self._ask(request, SecretDeletedReply)
        return reply.result
