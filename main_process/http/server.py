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
  ``sse_buffer`` events per connection (:mod:`main_process.http.events`), and all
  event streams together by ``sse_budget`` bytes (:mod:`main_process.http.sse_budget`;
  ``$CONDUCTOR_MAX_SSE_BUFFER_BYTES``).
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

import uvicorn
from fastapi import FastAPI

from app.errors import ConfigError, TransportError
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
from main_process.http.errors import install_error_handlers
from main_process.http.events import (
    DEFAULT_BUFFER_EVENTS,
)
from main_process.http.header_timeout import HeaderTimeoutProtocol
from main_process.http.routes import API_VERSION, routes
from main_process.http.schema import (
    openapi_builder,
)
from main_process.http.secret_routes import secret_routes
from main_process.http.sse_budget import SseBudget
from main_process.http.trigger_routes import trigger_routes
from main_process.http.webhooks import webhook_routes


def create_app(
    engine: Engine,
    token: str,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    sse_buffer: int = DEFAULT_BUFFER_EVENTS,
    sse_budget: SseBudget | None = None,
) -> FastAPI:
    """The API over ``engine``; requests must carry ``Authorization: Bearer <token>``.

    The caller owns the engine (``serve`` closes it on shutdown; tests close theirs).
    ``sse_budget`` (default: one reading ``$CONDUCTOR_MAX_SSE_BUFFER_BYTES``) bounds
    what all event streams hold together.
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
    app.include_router(routes(engine, sse_buffer, sse_budget))
    app.include_router(trigger_routes(engine))
    app.include_router(secret_routes(engine))
    app.include_router(webhook_routes(engine, token))
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
    triggers: bool = True,
    dask_scheduler: str | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, on the running loop (see :func:`serve`)."""
    code_nodes = code_nodes_allowed(host, code_nodes)
    chosen = bool(file_roots)
    if not file_roots and not code_nodes:
        file_roots = [Path.cwd()]
    engine = Engine(
        home,
        file_roots=file_roots or None,
        allow_code_nodes=code_nodes,
        dask_scheduler=dask_scheduler,
    )
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
    if triggers:
        engine.triggers.start_runtime()
    engine.handlers.sweep_soon()  # handlers owed by runs of owners that died
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
    triggers: bool = True,
    dask_scheduler: str | None = None,
) -> None:
    """Run ``conductor serve`` in the foreground until SIGTERM or Ctrl-C.

    ``token`` (else ``$CONDUCTOR_TOKEN``, else the data dir's ``token`` file) is what
    clients must send; a non-loopback ``host`` needs one of the first two. Raises
    :class:`~app.errors.ConfigError` / :class:`~app.errors.TransportError` before
    listening when the settings cannot work. ``code_nodes`` (default: on for a
    loopback host only) allows blueprints with code nodes; ``file_roots`` (default:
    the working directory and home, or only the working directory when code nodes
    are off) bound the files blueprints may read and write. ``triggers`` (default
    on) fires the schedule and file triggers of the data dir's blueprints.
    ``dask_scheduler`` (else ``$CONDUCTOR_DASK_SCHEDULER``) runs ``runner: dask`` nodes.
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
            triggers=triggers,
            dask_scheduler=dask_scheduler,
        )
    )
