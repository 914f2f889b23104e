"""What the HTTP API's requests look like: body models, the query parameters a route
accepts, and the OpenAPI document that describes them.

``POST /v1/executions`` is the hot route (a script's every run), so its body is
parsed in one pass by pydantic from the raw bytes — the inline blueprint lands
as a :class:`~app.blueprint.Blueprint` without an intermediate dict — instead of
FastAPI's JSON-to-dict-to-model path. Only when that fails inside the blueprint
is the body parsed again, through the same reader the other transports use, so
the caller gets the usual :class:`~app.errors.BlueprintError` with every problem
and its place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.blueprint import Blueprint, as_blueprint
from app.errors import ConfigError, Problem
from app.json_values import validate_json
from app.results import ExecutionConfig
from main_process.http.auth import HOOKS_PREFIX, PUBLIC_PATHS

_REF = "#/components/schemas/{model}"


class ExecuteRequest(BaseModel):
    """``POST /v1/executions``: exactly one of ``blueprint_id`` and ``blueprint``;
    ``wait`` answers with the result instead of the execution id."""

    model_config = ConfigDict(extra="forbid")

    blueprint_id: str | None = None
    blueprint: Blueprint | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: ExecutionConfig = Field(default_factory=ExecutionConfig)
    wait: bool = False
    #: With ``wait``: carry every node output inline (else outputs over the inline
    #: limit come as handles; see :mod:`app.output_handles`).
    include_node_outputs: bool = False


class ResumeRequest(BaseModel):
    """``POST /v1/executions/{id}/resume``; the body may be left out (``wait`` false)."""

    model_config = ConfigDict(extra="forbid")

    wait: bool = False
    include_node_outputs: bool = False


class CopyBlueprintBody(BaseModel):
    """``POST /v1/blueprints/{id}/copy``: duplicate, or with ``move`` rename."""

    model_config = ConfigDict(extra="forbid")

    new_id: str
    move: bool = False
    name: str | None = None


class StartedBody(BaseModel):
    execution_id: str


class CancelledBody(BaseModel):
    cancelled: bool


class PausedBody(BaseModel):
    """False when the execution was not running (finished, or paused already)."""

    paused: bool


class ValidationBody(BaseModel):
    valid: bool
    problems: list[Problem]


class HealthBody(BaseModel):
    status: str
    version: str
    #: False when the server refuses blueprints with code nodes (``--no-code-nodes``).
    code_nodes: bool = True


def parse_execute_request(raw: bytes) -> ExecuteRequest:
    """The request in ``raw``; BlueprintError (with problems) for a bad inline blueprint,
    pydantic's ValidationError (→ 400/422) for anything else."""
    try:
        return validate_json(ExecuteRequest, raw or b"{}")  # inputs deeper than ~200 too
    except ValidationError as exc:
        if any(err["loc"][:1] == ("blueprint",) for err in exc.errors()):
            data = orjson.loads(raw)
            as_blueprint(data.get("blueprint"))  # raises the BlueprintError
        raise


def openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The schema FastAPI derives, plus what it cannot see: the bearer scheme on every
    route but the public ones, and the execute body parsed by hand."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
        }
        models = components.setdefault("schemas", {})
        body = ExecuteRequest.model_json_schema(ref_template=_REF)
        models.update(body.pop("$defs", {}))
        models["ExecuteRequest"] = body
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                operation["security"] = (
                    []
                    if path in PUBLIC_PATHS
                    else [{"bearer": []}, {}]  # the trigger's own auth may need no token
                    if path.startswith(HOOKS_PREFIX)
                    else [{"bearer": []}]
                )
                if path == "/v1/executions" and method == "post":
                    operation["requestBody"] = {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": _REF.format(model="ExecuteRequest")}
                            }
                        },
                    }
        app.openapi_schema = schema
        return schema

    return build


async def known_query_only(request: Request) -> None:
    """Refuse query parameters given twice (no route takes a list, so the last one
    would silently win) or that the route does not take (``?limt=5`` would be ignored
    without a word); schemathesis flagged both as accepted."""
    seen: set[str] = set()
    for name, _value in request.query_params.multi_items():
        if name in seen:
            raise ConfigError(
                f"query parameter {name!r} is given more than once", where=f"query.{name}"
            )
        seen.add(name)
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or request.url.path.endswith("/health"):
        return  # monitors may add a cache-busting parameter to health checks
    known = {param.alias for param in dependant.query_params}
    for name in request.query_params:
        if name not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise ConfigError(
                f"unknown query parameter {name!r} (this route takes: {allowed})",
                where=f"query.{name}",
            )
