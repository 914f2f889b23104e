"""How the HTTP API reports failures: one JSON shape, one status per error type.

Every error response is ``{"error": {"type", "message", "where", ...}}`` — the
:class:`~app.errors.ErrorInfo` of a typed error — so the HTTP client rebuilds the
very type the engine raised with :func:`app.errors.error_from_info`, and a script
can branch on ``type`` without parsing prose. Problems made by the HTTP layer
itself (no token, a body that is not JSON, a body too large, an unknown route)
reuse the existing types: :class:`~app.errors.TransportError` for what concerns
reaching the API, :class:`~app.errors.ConfigError` for a malformed request.

Nothing here answers with a bare 500: an unexpected exception becomes a typed
``ConductorError`` body naming the exception class, with no traceback (which could
reveal paths and data to a remote caller); the server logs the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.errors import (
    AuthError,
    BlueprintConflictError,
    BlueprintError,
    BlueprintNotFoundError,
    ConcurrencyLimitError,
    ConductorError,
    ConfigError,
    EngineClosedError,
    ErrorInfo,
    ExecutionNotFoundError,
    NodeTypeError,
    OutputUnavailableError,
    ResumeError,
    SecretNotFoundError,
    StoreError,
    TemplateError,
    TransportError,
    TriggerNotFoundError,
)
from app.redaction import REDACTOR

log = logging.getLogger(__name__)

#: Status for each error type; a subclass not listed takes its nearest listed base.
STATUS_BY_TYPE: dict[type[ConductorError], int] = {
    BlueprintError: 422,
    NodeTypeError: 422,
    TemplateError: 422,
    ConfigError: 422,
    BlueprintNotFoundError: 404,
    BlueprintConflictError: 409,
    ExecutionNotFoundError: 404,
    TriggerNotFoundError: 404,
    SecretNotFoundError: 404,
    ResumeError: 409,
    StoreError: 503,
    OutputUnavailableError: 410,  # the file is gone: asking again will not help
    EngineClosedError: 503,
    ConcurrencyLimitError: 429,
    AuthError: 401,
    TransportError: 502,
}


class ErrorBody(BaseModel):
    """The body of every error response (documented in the OpenAPI schema)."""

    error: ErrorInfo


def status_for(exc: ConductorError) -> int:
    """The HTTP status for a typed error (400 for types with no better fit)."""
    for cls in type(exc).__mro__:
        status = STATUS_BY_TYPE.get(cls)
        if status is not None:
            return status
    return 400


def error_bytes(info: ErrorInfo) -> bytes:
    """The JSON error document; ``where`` is always present, empty extras are left out.
    Secret values are masked (:mod:`app.redaction`)."""
    info = REDACTOR.error(info) or info
    data: dict[str, Any] = {"type": info.type, "message": info.message, "where": info.where}
    if info.node_id is not None:
        data["node_id"] = info.node_id
    if info.problems:
        data["problems"] = [p.model_dump(mode="json") for p in info.problems]
    # Never a traceback: it shows the server's paths and code to a remote caller. It goes
    # to the server's log instead (``conductor -v serve`` prints it). A node's own error,
    # the user's code, travels inside the execution result, not in this envelope.
    return orjson.dumps({"error": data})


def error_response(
    info: ErrorInfo, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(error_bytes(info), status, headers=headers, media_type="application/json")


def typed_error_response(exc: ConductorError) -> Response:
    return error_response(exc.to_info(), status_for(exc))


def _place(loc: Sequence[int | str]) -> str:
    """``("body", "config", "parallel")`` → ``config.parallel``; other sources keep
    their prefix (``query.limit``) so a caller can tell a field from a parameter."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation_response(errors: Sequence[Any]) -> Response:
    """400 for a body that is not JSON at all, else 422 naming the first bad field."""
    for err in errors:
        if err.get("type") == "json_invalid":
            detail = err.get("ctx", {}).get("error", "invalid JSON")
            info = ErrorInfo(
                type=ConfigError.type_name,
                message=f"the request body is not valid JSON: {detail}",
                where="body",
            )
            return error_response(info, 400)
        if tuple(err.get("loc", ())) == ("body",) and isinstance(err.get("input"), bytes):
            info = ErrorInfo(
                type=ConfigError.type_name,
                message="the request body must be JSON (Content-Type: application/json)",
                where="body",
            )
            return error_response(info, 400)
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    where = _place(first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    info = ErrorInfo(type=ConfigError.type_name, message=f"{first['msg']}{more}", where=where)
    return error_response(info, 422)


async def _on_conductor_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConductorError)
    if exc.traceback is not None:
        log.debug(
            "%s on %s %s:\n%s", exc.type_name, request.method, request.url.path, exc.traceback
        )
    return typed_error_response(exc)


async def _on_request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _validation_response(exc.errors())


async def _on_pydantic_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return _validation_response(exc.errors(include_url=False))


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own errors: an unknown route or method means client and server do
    not speak the same API (a transport problem); anything else is a bad request."""
    assert isinstance(exc, StarletteHTTPException)
    kind, where = ConfigError.type_name, "body" if exc.status_code == 413 else request.url.path
    if exc.status_code == 404:
        kind, message = TransportError.type_name, f"no route {request.url.path!r} on this server"
    elif exc.status_code == 405:
        kind = TransportError.type_name
        message = f"{request.method} is not allowed on {request.url.path!r}"
    else:
        message = str(exc.detail)
    info = ErrorInfo(type=kind, message=message, where=where)
    return error_response(info, exc.status_code, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    info = ErrorInfo(
        type=ConductorError.type_name,
        message=f"internal server error ({type(exc).__name__}): {exc}",
        where=request.url.path,
    )
    return error_response(info, 500)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure a request can meet to a typed JSON error response."""
    app.add_exception_handler(ConductorError, _on_conductor_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ValidationError, _on_pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
