"""The secrets operations (see :mod:`app.operations`, whose unions carry them): list
names, set and delete; a value only ever travels towards the engine."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.operation_base import Operation as _Operation


class ListSecretsRequest(_Operation):
    """The names of the engine process's secrets (never a value)."""

    method: Literal["list_secrets"] = "list_secrets"


class SetSecretRequest(_Operation):
    """Set a secret in the engine process's vault (:mod:`main_process.secrets`)."""

    method: Literal["set_secret"] = "set_secret"
    name: str
    #: Kept out of the model's repr, so no log line or error quoting a request shows it.
    value: str = Field(repr=False)


class DeleteSecretRequest(_Operation):
    method: Literal["delete_secret"] = "delete_secret"
    name: str


class SecretNamesReply(_Operation):
    method: Literal["list_secrets", "set_secret"] = "list_secrets"
    #: Every secret's name after the operation, sorted.
    result: list[str]


class SecretDeletedReply(_Operation):
    """True when the secret existed."""

    method: Literal["delete_secret"] = "delete_secret"
    result: bool
