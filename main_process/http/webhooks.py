"""Webhook routes of ``conductor serve``: ``GET|POST /v1/hooks/{blueprint_id}/{path}``.

Each webhook trigger of a user blueprint (:mod:`main_process.http.hook_requests`)
answers here, in whichever ``serve`` process receives the request (no lock: two
servers on one data dir both answer). The request's auth is the trigger's
(:mod:`main_process.http.hook_auth`); the server-wide guard lets ``/v1/hooks/`` pass
without the bearer token for that reason, but still caps the body size (413).

Answers: ``respond: at_once`` → 202 ``{"execution_id"}`` once the execution is
recorded; ``when_finished`` → 200 with the execution's outputs as the body, or 502
with a typed error naming the execution (it failed or was cancelled), or 202
``{"execution_id", "status"}`` when it outlives ``wait_timeout`` (it goes on).
The execution id is in the ``X-Conductor-Execution-Id`` header of each. Unknown hook
404 (401 without the server's token: only its holder learns which hooks exist), wrong
method 405, missing credentials 401, wrong ones 403, an input of the wrong type 422
naming it, ``on_limit: skip`` at the blueprint's limit 429. A request that
starts nothing is recorded (:mod:`main_process.store.hook_fires`), without its body.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import TypeAdapter
from starlette.responses import Response

from app.automation_spec import WebhookRespond
from app.errors import AuthError, ConcurrencyLimitError, ConductorError, ErrorInfo, TransportError
from app.results import ExecutionResult
from main_process.engine.engine import Engine
from main_process.http.errors import ErrorBody, error_bytes, status_for
from main_process.http.hook_auth import HookRefused, bearer_ok, check_hook_auth
from main_process.http.hook_requests import (
    Hook,
    HookTable,
    hook_inputs,
    multi_dict,
    parse_body,
    trigger_context,
)
from main_process.http.schema import StartedBody
from main_process.store.hook_fires import FireOutcome, record_fire

#: The header that names the execution a webhook request started.
EXECUTION_HEADER = "X-Conductor-Execution-Id"
_ANY: TypeAdapter[Any] = TypeAdapter(Any)
_DOCS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "when_finished: the execution's outputs",
        "content": {"application/json": {}},
    },
    202: {"model": StartedBody, "description": "at_once, or still running at wait_timeout"},
    **{code: {"model": ErrorBody} for code in (400, 401, 403, 404, 405, 413, 422, 429, 502, 503)},
}
_BODY_DOC = {"requestBody": {"required": False, "content": {"application/json": {"schema": {}}}}}


def _error(status: int, info: ErrorInfo, execution_id: str | None = None) -> Response:
    body = error_bytes(info)
    headers = None
    if execution_id:
        data = orjson.loads(body)
        data["error"]["execution_id"] = execution_id
        body = orjson.dumps(data)
        headers = {EXECUTION_HEADER: execution_id}
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="conductor"'}
    return Response(body, status, headers=headers, media_type="application/json")


def webhook_routes(engine: Engine, token: str) -> APIRouter:
    """The hook routes over ``engine``; ``token`` is the server's bearer token (for
    triggers with ``auth: token``)."""
    table = HookTable(engine.library)
    r = APIRouter(prefix="/v1/hooks", tags=["webhooks"], responses=_DOCS)

    async def fire(
        request: Request, blueprint_id: str, path: str, path_token: str | None
    ) -> Response:
        hook = await asyncio.to_thread(table.find, blueprint_id, path)
        if hook is None:
            # Only a caller holding the server's token learns which hooks do not exist.
            if not bearer_ok(request.headers.getlist("authorization"), token):
                message = "missing or invalid bearer token"
                return _error(401, AuthError(message, where="Authorization").to_info())
            info = TransportError(
                f"no webhook {path!r} on a user blueprint {blueprint_id!r}", where="path"
            ).to_info()
            return _error(404, info)
        method = request.method.upper()
        if method not in hook.trigger.methods:
            allowed = ", ".join(hook.trigger.methods)
            info = TransportError(
                f"{method} is not allowed on this webhook ({allowed})", where="method"
            ).to_info()
            response = _error(405, info)
            response.headers["Allow"] = allowed
            return response
        raw = await request.body()
        try:
            check_hook_auth(
                hook.trigger,
                data_dir=engine.home,
                server_token=token,
                authorization=request.headers.getlist("authorization"),
                signature=request.headers.getlist(hook.trigger.signature_header),
                body=raw,
                path_token=path_token,
            )
        except HookRefused as refused:
            if refused.status == 404:
                info = TransportError(refused.message, where=refused.where).to_info()
                return _error(404, info)
            await _record(engine, hook, FireOutcome.REFUSED, refused.status, refused.message)
            return _error(refused.status, AuthError(refused.message, where=refused.where).to_info())
        return await _start(engine, hook, request, raw)

    @r.post("/{blueprint_id}/{path}", openapi_extra=_BODY_DOC, summary="Fire a webhook (POST)")
    async def hook_post(request: Request, blueprint_id: str, path: str) -> Response:
        return await fire(request, blueprint_id, path, None)

    @r.get("/{blueprint_id}/{path}", summary="Fire a webhook (GET)")
    async def hook_get(request: Request, blueprint_id: str, path: str) -> Response:
        return await fire(request, blueprint_id, path, None)

    @r.post(
        "/{blueprint_id}/{path}/{token}",
        openapi_extra=_BODY_DOC,
        summary="Fire a webhook with a path token (POST)",
    )
    async def hook_token_post(
        request: Request, blueprint_id: str, path: str, token: str
    ) -> Response:
        return await fire(request, blueprint_id, path, token)

    @r.get("/{blueprint_id}/{path}/{token}", summary="Fire a webhook with a path token (GET)")
    async def hook_token_get(
        request: Request, blueprint_id: str, path: str, token: str
    ) -> Response:
        return await fire(request, blueprint_id, path, token)

    return r


async def _start(engine: Engine, hook: Hook, request: Request, raw: bytes) -> Response:
    """Start the execution and answer as the trigger says."""
    trigger = hook.trigger
    at_once = trigger.respond is WebhookRespond.AT_ONCE
    try:
        body = parse_body(raw, request.headers.get("content-type", ""))
        query = multi_dict(request.query_params.multi_items())
        context = trigger_context(
            hook, request.method.upper(), body, query, request.headers.items()
        )
        execution_id = await engine.start(
            blueprint_id=hook.blueprint.id,
            inputs=hook_inputs(hook, body, query),
            config={"trigger": context},
            durable=at_once,
        )
    except ConductorError as exc:
        status = status_for(exc)
        outcome = (
            FireOutcome.SKIPPED if isinstance(exc, ConcurrencyLimitError) else FireOutcome.INVALID
        )
        await _record(engine, hook, outcome, status, exc.message)
        return _error(status, exc.to_info())
    headers = {EXECUTION_HEADER: execution_id}
    started = b'{"execution_id":"%s"}' % execution_id.encode()
    if at_once:
        return Response(started, 202, headers=headers, media_type="application/json")
    try:
        result = await asyncio.wait_for(engine.wait(execution_id), trigger.wait_timeout)
    except TimeoutError:
        body_bytes = orjson.dumps({"execution_id": execution_id, "status": "running"})
        return Response(body_bytes, 202, headers=headers, media_type="application/json")
    if result.success:
        return Response(
            _ANY.dump_json(result.outputs), 200, headers=headers, media_type="application/json"
        )
    return _error(502, _failure(result), execution_id)


def _failure(result: ExecutionResult) -> ErrorInfo:
    error = result.error
    cause = f": {error.message}" if error is not None else ""
    return ErrorInfo(
        type=error.type if error is not None else "ExecutionFailed",
        message=f"execution {result.execution_id} ended {result.status.value}{cause}",
        where=error.where if error is not None and error.where else "execution",
        node_id=error.node_id if error is not None else None,
    )


async def _record(
    engine: Engine, hook: Hook, outcome: FireOutcome, status: int, message: str
) -> None:
    store = engine.store
    if store is None:
        return
    # A full or read-only store must not turn a refusal into a 5xx.
    with contextlib.suppress(ConductorError):
        await asyncio.to_thread(record_fire, store, hook.id, outcome, status, message[:500])
