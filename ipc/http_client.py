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
from pydantic import TypeAdapter, ValidationError

from app.blueprint import Blueprint
from app.errors import (
    BlueprintError,
    ConfigError,
    ErrorInfo,
    ExecutionNotFoundError,
    Problem,
    TransportError,
    error_from_info,
)
from app.events import Event
from app.paths import token_path
from app.results import (
    BlueprintSummary,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
)
from app.shape_problems import unwritable_blueprint
from app.transport import BlueprintArg, BlueprintData, Transport


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

_SUMMARIES: TypeAdapter[list[ExecutionSummary]] = TypeAdapter(list[ExecutionSummary])
_BLUEPRINTS: TypeAdapter[list[BlueprintSummary]] = TypeAdapter(list[BlueprintSummary])
_NODE_TYPES: TypeAdapter[list[NodeTypeInfo]] = TypeAdapter(list[NodeTypeInfo])
_PROBLEMS: TypeAdapter[list[Problem]] = TypeAdapter(list[Problem])


def wire_blueprint(blueprint: BlueprintArg) -> BlueprintData:
    """The dict a blueprint travels as; code-defined nodes cannot leave this process."""
    if not isinstance(blueprint, Blueprint):
        return blueprint
    local = [n.id for n in blueprint.nodes if n.function is not None]
    if local:
        raise ConfigError(
            f"nodes {', '.join(map(repr, local))} are defined in code and run only in this "
            "process; use the direct transport, or a registered node type",
            where="blueprint",
        )
    return blueprint.model_dump(mode="json", exclude_none=True)


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
    ) -> None:
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

    # -- running -----------------------------------------------------------------------

    def _run_body(
        self,
        blueprint_id: str | None,
        blueprint: BlueprintArg | None,
        inputs: dict[str, Any],
        config: dict[str, Any],
        wait: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"inputs": inputs, "config": config, "wait": wait}
        if blueprint is not None:
            body["blueprint"] = wire_blueprint(blueprint)
        else:
            body["blueprint_id"] = blueprint_id
        return body

    async def execute(
        self,
        *,
        blueprint_id: str | None,
        blueprint: BlueprintArg | None,
        inputs: dict[str, Any],
        config: dict[str, Any],
    ) -> ExecutionResult:
        body = self._run_body(blueprint_id, blueprint, inputs, config, wait=True)
        response = await self._request("POST", "/v1/executions", body=body, long=True)
        return ExecutionResult.model_validate_json(response.content)

    async def start(
        self,
        *,
        blueprint_id: str | None,
        blueprint: BlueprintArg | None,
        inputs: dict[str, Any],
        config: dict[str, Any],
    ) -> str:
        body = self._run_body(blueprint_id, blueprint, inputs, config, wait=False)
        response = await self._request("POST", "/v1/executions", body=body)
        return str(response.json()["execution_id"])

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
                        event = Event.model_validate_json(data)
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

    async def wait(self, execution_id: str) -> ExecutionResult:
        result = await self.get_execution(execution_id)
        if result.status.is_terminal:
            return result
        async for _event in self.events(execution_id):
            pass
        result = await self.get_execution(execution_id)
        if not result.status.is_terminal:
            raise ExecutionNotFoundError(
                f"execution {execution_id!r} is running in another process", where="execution_id"
            )
        return result

    async def cancel(self, execution_id: str) -> bool:
        path = f"/v1/executions/{quote(execution_id, safe='')}/cancel"
        return bool((await self._request("POST", path)).json()["cancelled"])

    async def resume(self, execution_id: str, *, wait: bool = True) -> ExecutionResult:
        path = f"/v1/executions/{quote(execution_id, safe='')}/resume"
        response = await self._request("POST", path, body={"wait": wait}, long=wait)
        return ExecutionResult.model_validate_json(response.content)

    async def get_execution(self, execution_id: str) -> ExecutionResult:
        response = await self._request("GET", f"/v1/executions/{quote(execution_id, safe='')}")
        return ExecutionResult.model_validate_json(response.content)

    async def node_output(
        self, execution_id: str, node_id: str, *, offset: int = 0, limit: int = 100
    ) -> OutputPage:
        eid, nid = quote(execution_id, safe=""), quote(node_id, safe="")
        path = f"/v1/executions/{eid}/nodes/{nid}/output"
        params = {"offset": offset, "limit": limit}
        response = await self._request("GET", path, params=params)
        return OutputPage.model_validate_json(response.content)

    async def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        if blueprint_id is not None:
            params["blueprint_id"] = blueprint_id
        response = await self._request("GET", "/v1/executions", params=params)
        return _SUMMARIES.validate_json(response.content)

    # -- blueprints --------------------------------------------------------------------

    async def list_blueprints(self) -> list[BlueprintSummary]:
        return _BLUEPRINTS.validate_json((await self._request("GET", "/v1/blueprints")).content)

    async def get_blueprint(self, blueprint_id: str) -> BlueprintData:
        response = await self._request("GET", f"/v1/blueprints/{quote(blueprint_id, safe='')}")
        data: BlueprintData = response.json()
        return data

    async def save_blueprint(self, blueprint: BlueprintArg) -> BlueprintSummary:
        data = wire_blueprint(blueprint)
        blueprint_id = str(data.get("id", ""))
        response = await self._request(
            "PUT", f"/v1/blueprints/{quote(blueprint_id, safe='')}", body=data
        )
        return BlueprintSummary.model_validate_json(response.content)

    async def delete_blueprint(self, blueprint_id: str) -> None:
        await self._request("DELETE", f"/v1/blueprints/{quote(blueprint_id, safe='')}")

    async def validate(self, blueprint: BlueprintArg) -> list[Problem]:
        data = wire_blueprint(blueprint)
        try:
            response = await self._request("POST", "/v1/blueprints/validate", body=data)
        except BlueprintError as exc:  # it cannot even be sent: that is its problem
            return list(exc.problems)
        return _PROBLEMS.validate_python(response.json()["problems"])

    async def node_types(self) -> list[NodeTypeInfo]:
        return _NODE_TYPES.validate_json((await self._request("GET", "/v1/node-types")).content)

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
