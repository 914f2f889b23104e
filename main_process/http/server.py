"""``conductor serve``: the engine behind a small JSON API (FastAPI on uvicorn).

The routes are a contract (design.md, "Data directory, CLI, HTTP"): ``/v1/...``,
JSON bodies, ``{"error": {"type", "message", "where"}}`` on failure. Each route is a
thin call into the engine the other transports use, so results and errors match;
the HTTP client maps each operation to its route (:mod:`ipc.http_routes`).

Choices:

* Handlers return ready-made JSON bytes (pydantic's serializer), not objects for
  FastAPI to re-encode; the ``response_model`` declarations only document them.
* A failed run is a result, not an error: ``POST /v1/executions`` with ``wait``
  answers 200 with ``success: false``. Errors are for what could not start.
* Requests go through :class:`~main_process.http.auth.RequestGuard` (bearer token,
  body size) before routing, so no route — present or future — is left open.
* Code nodes (``python.function``, ``shell.command``, plugin types with
  ``runs_code``) are on by default only on a loopback host: a server reachable
  from elsewhere refuses them unless ``code_nodes=True``, since whoever holds the
  token would otherwise hold a shell. The engine does the refusing
  (``allow_code_nodes``), so validate, run, run by id and resume agree; health
  reports the setting. File and database nodes are confined to ``file_roots``.
* What a client can make the server hold is bounded: a request body by
  ``max_body_bytes`` (413, chunked uploads included), an event stream by
  ``sse_buffer`` events per connection (:mod:`main_process.http.events`).
* Shutdown (SIGTERM, Ctrl-C) first stops listening, then closes the engine so
  running executions end ``interrupted`` (resumable) and their waiting requests
  and event streams finish, and only then lets uvicorn drain connections.

Only ``main_process.http`` imports FastAPI and uvicorn, so the CLI starts fast.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from pydantic import TypeAdapter
from starlette.responses import Response, StreamingResponse

from app.errors import ConfigError, TransportError
from app.events import Event
from app.results import (
    BlueprintSummary,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
)
from app.states import ExecutionStatus
from main_process.engine.engine import Engine
from main_process.file_roots import check_roots_without_code
from main_process.http.auth import (
    DEFAULT_MAX_BODY_BYTES,
    RequestGuard,
    TokenSource,
    check_host,
    is_loopback,
    resolve_token,
)
from main_process.http.errors import ErrorBody, install_error_handlers
from main_process.http.events import (
    DEFAULT_BUFFER_EVENTS,
    event_list_bytes,
    nothing_more,
    parse_last_event_id,
    recorded_events,
    sse_stream,
)
from main_process.http.header_timeout import HeaderTimeoutProtocol
from main_process.http.schema import (
    CancelledBody,
    HealthBody,
    PausedBody,
    ResumeRequest,
    StartedBody,
    ValidationBody,
    known_query_only,
    openapi_builder,
    parse_execute_request,
)

API_VERSION = "1"
_JSON = "application/json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 422, 500)
}
_SUMMARIES: TypeAdapter[list[ExecutionSummary]] = TypeAdapter(list[ExecutionSummary])
_BLUEPRINTS: TypeAdapter[list[BlueprintSummary]] = TypeAdapter(list[BlueprintSummary])
_NODE_TYPES: TypeAdapter[list[NodeTypeInfo]] = TypeAdapter(list[NodeTypeInfo])


def _json(data: bytes | str, status: int = 200) -> Response:
    return Response(data, status, media_type=_JSON)


def _routes(engine: Engine, sse_buffer: int) -> APIRouter:
    """Every ``/v1`` route, closed over one engine."""
    r = APIRouter(prefix="/v1", responses=_ERRORS, dependencies=[Depends(known_query_only)])

    @r.get("/health", response_model=HealthBody, tags=["meta"])
    async def health() -> Response:
        body = HealthBody(status="ok", version=API_VERSION, code_nodes=engine.allow_code_nodes)
        return _json(body.model_dump_json())

    @r.get("/node-types", response_model=list[NodeTypeInfo], tags=["blueprints"])
    async def node_types() -> Response:
        return _json(_NODE_TYPES.dump_json(await engine.node_types()))

    @r.get("/blueprints", response_model=list[BlueprintSummary], tags=["blueprints"])
    async def list_blueprints() -> Response:
        return _json(_BLUEPRINTS.dump_json(await engine.list_blueprints()))

    @r.post("/blueprints/validate", response_model=ValidationBody, tags=["blueprints"])
    async def validate(blueprint: Annotated[dict[str, Any], Body()]) -> Response:
        problems = await engine.validate(blueprint)
        return _json(ValidationBody(valid=not problems, problems=problems).model_dump_json())

    @r.get("/blueprints/{blueprint_id:path}", response_model=dict[str, Any], tags=["blueprints"])
    async def get_blueprint(blueprint_id: str) -> Response:
        model = await engine.get_blueprint(blueprint_id)
        return _json(model.model_dump_json(exclude_none=True))

    @r.put("/blueprints/{blueprint_id:path}", response_model=BlueprintSummary, tags=["blueprints"])
    async def save_blueprint(
        blueprint_id: str, blueprint: Annotated[dict[str, Any], Body()]
    ) -> Response:
        body_id = blueprint.setdefault("id", blueprint_id)
        if body_id != blueprint_id:
            raise ConfigError(
                f"the body's id {body_id!r} differs from the id in the URL {blueprint_id!r}",
                where="id",
            )
        return _json((await engine.save_blueprint(blueprint)).model_dump_json())

    @r.delete("/blueprints/{blueprint_id:path}", status_code=204, tags=["blueprints"])
    async def delete_blueprint(blueprint_id: str) -> Response:
        await engine.delete_blueprint(blueprint_id)
        return Response(status_code=204)

    @r.post(
        "/executions",
        status_code=202,
        tags=["executions"],
        responses={
            200: {"model": ExecutionResult, "description": "with wait: the result"},
            202: {"model": StartedBody, "description": "started"},
        },
    )
    async def start(raw: Request) -> Response:
        request = parse_execute_request(await raw.body())
        if (request.blueprint_id is None) == (request.blueprint is None):
            raise ConfigError("give exactly one of blueprint_id and blueprint", where="blueprint")
        execution_id = await engine.start(
            blueprint_id=request.blueprint_id,
            blueprint=request.blueprint,
            inputs=request.inputs,
            config=request.config.model_dump(exclude_defaults=True),
        )
        if not request.wait:
            return _json(b'{"execution_id":"%s"}' % execution_id.encode(), 202)
        return _json((await engine.wait(execution_id)).model_dump_json())

    @r.get("/executions", response_model=list[ExecutionSummary], tags=["executions"])
    async def list_executions(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
        status: ExecutionStatus | None = None,
        blueprint_id: str | None = None,
    ) -> Response:
        found = await engine.list_executions(
            limit=limit, status=status.value if status else None, blueprint_id=blueprint_id
        )
        return _json(_SUMMARIES.dump_json(found))

    @r.get(
        "/executions/{execution_id}/events",
        response_model=list[Event],
        tags=["executions"],
        responses={200: {"content": {"text/event-stream": {}}}, 204: {}},
    )
    async def events(
        request: Request,
        execution_id: str,
        after: Annotated[int, Query(ge=0)] = 0,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Response:
        resumed = parse_last_event_id(last_event_id)
        after = max(after, resumed or 0)
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _json(event_list_bytes(await recorded_events(engine, execution_id, after)))
        if await nothing_more(engine, execution_id, after):
            return Response(status_code=204)
        return StreamingResponse(
            sse_stream(engine, execution_id, after, limit=sse_buffer),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @r.post("/executions/{execution_id}/cancel", response_model=CancelledBody, tags=["executions"])
    async def cancel(execution_id: str) -> Response:
        return _json(CancelledBody(cancelled=await engine.cancel(execution_id)).model_dump_json())

    @r.post("/executions/{execution_id}/pause", response_model=PausedBody, tags=["executions"])
    async def pause(execution_id: str) -> Response:
        return _json(PausedBody(paused=await engine.pause(execution_id)).model_dump_json())

    @r.post(
        "/executions/{execution_id}/resume", response_model=ExecutionResult, tags=["executions"]
    )
    async def resume(execution_id: str, request: ResumeRequest | None = None) -> Response:
        wait = request is not None and request.wait
        result = await engine.resume(execution_id, wait=wait)
        return _json(result.model_dump_json(), 200 if wait else 202)

    @r.get(
        "/executions/{execution_id}/nodes/{node_id}/output",
        response_model=OutputPage,
        tags=["executions"],
    )
    async def node_output(
        execution_id: str, node_id: str, offset: int = 0, limit: int = 100
    ) -> Response:
        # Bounds are the engine's to check, so the error matches the other transports'.
        page = await engine.node_output(execution_id, node_id, offset=offset, limit=limit)
        return _json(page.model_dump_json())

    @r.get("/executions/{execution_id:path}", response_model=ExecutionResult, tags=["executions"])
    async def get_execution(execution_id: str) -> Response:
        return _json((await engine.get_execution(execution_id)).model_dump_json())

    return r


def create_app(
    engine: Engine,
    token: str,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    sse_buffer: int = DEFAULT_BUFFER_EVENTS,
) -> FastAPI:
    """The API over ``engine``; requests must carry ``Authorization: Bearer <token>``.

    The caller owns the engine (``serve`` closes it on shutdown; tests close theirs).
    """
    if not token:
        raise ConfigError("the HTTP API needs a non-empty token", where="token")
    app = FastAPI(
        title="Conductor",
        version=API_VERSION,
        description="Run and inspect Conductor blueprints and executions.",
        docs_url=None,
        redoc_url=None,
        strict_content_type=False,
    )
    install_error_handlers(app)
    app.include_router(_routes(engine, sse_buffer))
    app.add_middleware(RequestGuard, token=token, max_body_bytes=max_body_bytes)
    app.openapi = openapi_builder(app)  # type: ignore[method-assign]
    return app


def server_config(app: FastAPI) -> uvicorn.Config:
    """uvicorn settings: no access log or lifespan (the engine's life is ``serve``'s), and
    no proxy headers — a forwarded address must not be believed on a local API."""
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        http=HeaderTimeoutProtocol,
    )


class ConductorServer(uvicorn.Server):
    """uvicorn's server, closing the engine before it waits for connections to end."""

    def __init__(self, config: uvicorn.Config, engine: Engine) -> None:
        super().__init__(config)
        self.engine = engine

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in getattr(self, "servers", []):
            server.close()
        await self.engine.close()
        await super().shutdown(sockets)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one); a typed error when it cannot be had.

    Created with ``IPPROTO_TCP`` explicitly: asyncio turns Nagle's algorithm off only
    for sockets that say so, and with it on every response waits ~40 ms for an ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise TransportError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", where="port"
        ) from None
    return sock


def code_nodes_allowed(host: str, code_nodes: bool | None) -> bool:
    """``code_nodes`` when given, else on for a loopback host only: whoever can reach
    a public server and holds its token must not get a shell by default."""
    return is_loopback(host) if code_nodes is None else code_nodes


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def serve_async(
    host: str = "127.0.0.1",
    port: int = 8765,
    home: Path | str | None = None,
    token: str | None = None,
    *,
    code_nodes: bool | None = None,
    file_roots: Sequence[Path | str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    echo: Callable[[str], None] = _stdout,
) -> None:
    """Serve until SIGTERM/SIGINT, on the running loop (see :func:`serve`)."""
    code_nodes = code_nodes_allowed(host, code_nodes)
    chosen = bool(file_roots)
    if not file_roots and not code_nodes:
        file_roots = [Path.cwd()]
    engine = Engine(home, file_roots=file_roots or None, allow_code_nodes=code_nodes)
    try:
        if not code_nodes:
            check_roots_without_code(engine.file_roots, engine.home, chosen=chosen)
        source: TokenSource = resolve_token(token, engine.home)
        check_host(host, source)
        sock = bind(host, port)
    except BaseException:
        await engine.close()
        raise
    app = create_app(engine, source.token, max_body_bytes=max_body_bytes)
    config = server_config(app)
    server = ConductorServer(config, engine)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    roots = ", ".join(str(root) for root in engine.file_roots)
    echo(
        f"Conductor API listening on http://{shown}:{bound_port} "
        f"(data: {engine.home}; {source.describe()}; "
        f"code nodes {'on' if code_nodes else 'off'}; files under {roots})"
    )
    try:
        await server.serve(sockets=[sock])
    finally:
        await engine.close()
        sock.close()


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    home: Path | str | None = None,
    token: str | None = None,
    *,
    code_nodes: bool | None = None,
    file_roots: Sequence[Path | str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    echo: Callable[[str], None] = _stdout,
) -> None:
    """Run ``conductor serve`` in the foreground until SIGTERM or Ctrl-C.

    ``token`` (else ``$CONDUCTOR_TOKEN``, else the data dir's ``token`` file) is what
    clients must send; a non-loopback ``host`` needs one of the first two. Raises
    :class:`~app.errors.ConfigError` / :class:`~app.errors.TransportError` before
    listening when the settings cannot work. ``code_nodes`` (default: on for a
    loopback host only) allows blueprints with code nodes; ``file_roots`` (default:
    the working directory and home, or only the working directory when code nodes
    are off) bound the files blueprints may read and write.
    """
    asyncio.run(
        serve_async(
            host,
            port,
            home,
            token,
            code_nodes=code_nodes,
            file_roots=file_roots,
            max_body_bytes=max_body_bytes,
            echo=echo,
        )
    )
