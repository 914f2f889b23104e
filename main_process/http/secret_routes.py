"""The ``/v1/secrets`` routes: list names, set and delete a secret on the server.

Secrets belong to the process that runs the engine, so ``conductor --remote …
secrets set`` sets them here. Like every route they need the token
(:class:`~main_process.http.auth.RequestGuard`); no route ever answers with a value.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from main_process.engine.engine import Engine
from main_process.http.errors import ErrorBody

__all__ = ["SecretBody", "SecretNamesBody", "secret_routes"]


class SecretBody(BaseModel):
    """The body of ``PUT /v1/secrets/{name}``."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(repr=False, description="at least 4 characters; never returned")


class SecretNamesBody(BaseModel):
    names: list[str]


class SecretDeletedBody(BaseModel):
    deleted: bool


def _json(body: BaseModel) -> Response:
    return Response(body.model_dump_json(), media_type="application/json")


def secret_routes(engine: Engine) -> APIRouter:
    """The secret routes, closed over one engine."""
    errors = {code: {"model": ErrorBody} for code in (400, 401, 404, 422)}
    r = APIRouter(prefix="/v1/secrets", responses=errors, tags=["secrets"])  # type: ignore[arg-type]

    @r.get("", response_model=SecretNamesBody)
    async def list_secrets() -> Response:
        return _json(SecretNamesBody(names=await engine.secrets.names()))

    @r.put("/{name}", response_model=SecretNamesBody)
    async def set_secret(name: str, body: SecretBody) -> Response:
        await engine.secrets.set(name, body.value)
        return _json(SecretNamesBody(names=await engine.secrets.names()))

    @r.delete("/{name}", response_model=SecretDeletedBody)
    async def delete_secret(name: str) -> Response:
        return _json(SecretDeletedBody(deleted=await engine.secrets.delete(name)))

    return r
