"""The ``http`` transport: the unified API over ``conductor serve``'s JSON routes.

Results are the same models the engine returns and errors the same types: an
error response's ``{"error": {...}}`` body is turned back into its class with
:func:`app.errors.error_from_info`. What only HTTP can cause — the server is not
there, the connection breaks, an answer that is not ours — becomes a
:class:`~app.errors.TransportError` naming the URL.

``events()`` reads Server-Sent Events and, when the stream drops before the
terminal event, reconnects with ``Last-Event-ID`` (seqs are gap-free, so nothing
is lost or repeated). ``execute`` is one request (``wait: true``); ``wait``
follows the events to the terminal one, then asks for the result, so no request
sits idle for the length of a run behind a proxy's timeout.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import ValidationError

from app.errors import (
    ConfigError,
    ErrorInfo,
    ExecutionNotFoundError,
    TransportError,
    error_from_info,
)
from app.events import EVENT_ADAPTER, Event
from app.json_values import dumps, validate_json
from app.operations import (
    AnyReply,
    AnyRequest,
    ExecutionReply,
    GetExecutionRequest,
    WaitRequest,
)
from app.paths import token_path
from app.results import ExecutionResult
from app.shape_problems import unwritable_blueprint
from app.transport import Transport
from ipc.http_routes import ROUTES, wire_blueprint

__all__ = ["HttpTransport", "wire_blueprint"]


def _remember_missing_sniffio() -> None:
    """Make httpcore's per-request ``import sniffio`` fail fast when it is not installed.

    httpcore imports sniffio inside every lock and request to learn the async library;
    when the package is absent (recent anyio no longer pulls it in) each failed import
    searches all of ``sys.path`` again: ~0.4 ms of a ~1.5 ms loopback request, measured.
    Recording the absence once (Python's own convention: ``None`` in ``sys.modules``)
    makes the failure instant, and httpcore then assumes asyncio, as it would anyway.
    With sniffio installed this does nothing.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_remember_missing_sniffio()


def _stored_token() -> str | None:
    """The local server's token file, for a client on the same machine and account."""
    try:
        return token_path().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class HttpTransport(Transport):
    """Talks to a Conductor API at ``api_url`` with ``Authorization: Bearer <token>``.

    ``token`` defaults to the data dir's ``token`` file (what a local ``conductor
    serve`` uses). ``timeout`` bounds connecting and each ordinary request; calls
    that last as long as a run (``execute``, ``resume(wait=True)``, event streams)
    have no read timeout — give the run a ``timeout`` in its config instead.

    ``transport`` replaces the network (httpx's ``MockTransport`` or ``ASGITransport``
    run a server function in-process). Plain JSON requests go straight to it with a
    ready-made request; only event streams use the ``AsyncClient`` on top. Skipping
    the client's per-request machinery (URL merging, auth and redirect flows, cookies,
    hooks — none of which this API uses) saves ~0.4 ms of a ~4 ms ``execute``, measured.
    """

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        max_reconnects: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
        dask_scheduler: str | None = None,
    ) -> None:
        if dask_scheduler is not None:  # the server's engine runs the nodes
            raise ConfigError(
                "an http client does not choose the Dask scheduler: the server's own does "
                "(conductor serve --dask-scheduler)",
                where="dask_scheduler",
            )
        self.api_url = api_url.rstrip("/")
        self.max_reconnects = max_reconnects
        token = token or _stored_token()
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._headers = auth
        self._json_headers = {**auth, "Content-Type": "application/json"}
        self._timeout = httpx.Timeout(timeout)
        self._long = httpx.Timeout(timeout, read=None)
        self._extensions = {"timeout": self._timeout.as_dict()}
        self._long_extensions = {"timeout": self._long.as_dict()}
        self._transport = transport or httpx.AsyncHTTPTransport()
        self._client = httpx.AsyncClient(
            base_url=self.api_url, headers=auth, timeout=self._timeout, transport=self._transport
        )

    # -- plumbing ----------------------------------------------------------------------

    def _fail(self, exc: httpx.HTTPError, path: str) -> TransportError:
        url = f"{self.api_url}{path}"
        if isinstance(exc, httpx.ConnectError):
            return TransportError(
                f"cannot reach the Conductor API at {url}: {exc}", where=self.api_url
            )
        if isinstance(exc, httpx.TimeoutException):
            return TransportError(
                f"the Conductor API at {url} did not answer in time", where=self.api_url
            )
        return TransportError(
            f"request to {url} failed: {type(exc).__name__}: {exc}", where=self.api_url
        )

    def _error(self, response: httpx.Response, content: bytes | None = None) -> Exception:
        """The typed error in an error body (``content``, else the response's), or a
        TransportError when the answer is not one of ours."""
        body = response.content if content is None else content
        try:
            info = ErrorInfo.model_validate(json.loads(body)["error"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return TransportError(
                f"{response.request.method} {response.request.url} answered "
                f"{response.status_code}: {body[:200].decode(errors='replace')}",
                where=self.api_url,
            )
        return error_from_info(info)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        long: bool = False,
    ) -> httpx.Response:
        content: bytes | None = None
        if body is not None:
            try:
                content = orjson.dumps(body)
            except TypeError as exc:
                # A blueprint to blame gets the same BlueprintError as on the other transports.
                wrapped = path == "/v1/executions" and isinstance(body, dict)
                error = unwritable_blueprint(body.get("blueprint") if wrapped else body)
                if error is not None:
                    raise error from None
                try:  # inputs nested past orjson's 255 levels (up to 1,000 cross)
                    content = dumps(body)
                except TypeError:
                    raise ConfigError(f"cannot send this as JSON: {exc}", where="body") from None
        request = httpx.Request(
            method,
            self.api_url + path,
            params=params,
            content=content,
            headers=self._json_headers if content is not None else self._headers,
            extensions=self._long_extensions if long else self._extensions,
        )
        try:
            response = await self._transport.handle_async_request(request)
            response.request = request
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise self._fail(exc, path) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    # -- operations -------------------------------------------------------------------

    async def handle(self, request: AnyRequest) -> AnyReply:
        """Send ``request`` by its route in :data:`~ipc.http_routes.ROUTES`; ``wait``
        follows the events to the end instead (see the module docstring)."""
        if isinstance(request, WaitRequest):
            result = await self._wait(request.execution_id, request.include_node_outputs)
            return ExecutionReply(method="wait", result=result)
        route = ROUTES[type(request)]
        response = await self._request(
            route.verb,
            route.path(request),
            body=None if route.body is None else route.body(request),
            params=None if route.params is None else route.params(request),
            long=route.long(request),
        )
        return route.reply(request, response.content)

    async def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Recorded events, then live ones, until the terminal event (see module docs)."""
        path = f"/v1/executions/{quote(execution_id, safe='')}/events"
        last, failures, connected = after_seq, 0, False
        while True:
            headers = {"Accept": "text/event-stream", "Last-Event-ID": str(last)}
            try:
                async with self._client.stream(
                    "GET", path, params={"after": after_seq}, headers=headers, timeout=self._long
                ) as response:
                    connected = True
                    if response.status_code == 204:
                        return
                    if response.status_code >= 400:
                        await response.aread()
                        raise self._error(response)
                    async for kind, data in _sse_messages(response):
                        if kind == "end":
                            return
                        if kind == "error":
                            raise self._error(response, data.encode())
                        event = validate_json(EVENT_ADAPTER, data)
                        if event.seq <= last:
                            continue
                        last, failures = event.seq, 0
                        yield event
                        # Not ended by a terminal event: a resumed execution's record
                        # holds an earlier "interrupted"; the server says "end".
            except httpx.HTTPError as exc:
                if not connected:
                    raise self._fail(exc, path) from None
                failure: httpx.HTTPError | None = exc
            else:
                failure = None  # the stream closed early without saying why
            failures += 1
            if failures > self.max_reconnects:
                message = f"the event stream of {execution_id!r} kept breaking"
                if failure is not None:
                    message += f": {type(failure).__name__}: {failure}"
                raise TransportError(message, where=f"{self.api_url}{path}")
            await asyncio.sleep(min(0.05 * 2 ** (failures - 1), 2.0))

    async def _wait(self, execution_id: str, inline: bool = False) -> ExecutionResult:
        result = await self._get_execution(execution_id, inline)
        if result.status.is_terminal:
            return result
        async for _event in self.events(execution_id):
            pass
        result = await self._get_execution(execution_id, inline)
        if not result.status.is_terminal:
            raise ExecutionNotFoundError(
                f"execution {execution_id!r} is running in another process", where="execution_id"
            )
        return result

    async def _get_execution(self, execution_id: str, inline: bool = False) -> ExecutionResult:
        request = GetExecutionRequest(execution_id=execution_id, include_node_outputs=inline)
        reply = await self.handle(request)
        assert isinstance(reply, ExecutionReply)
        return reply.result

    async def close(self) -> None:
        await self._client.aclose()


async def _sse_messages(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """``(event type, data)`` per SSE message; comments and ``retry:``/``id:`` skipped
    (the seq inside each event's data is what the client tracks)."""
    kind = "message"
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield kind, "\n".join(data)
            kind, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field == "event":
                kind = value
