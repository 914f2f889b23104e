"""``http.request``: call an HTTP endpoint with httpx and output its body.

Each call opens its own ``httpx.AsyncClient`` and closes it before returning, so
no connection outlives the event loop that made it (the engine, tests and the CLI
each run their own loops). What makes a new client expensive is building the TLS
context (~90 ms), so that one object — loop-independent and thread-safe — is built
once and shared.

The body is parsed as JSON when the response says it is JSON, else returned as
text; an empty body is ``None``. Transport failures (connection refused, DNS, TLS,
timeouts) and, with ``raise_for_status``, 4xx/5xx statuses fail the node with a
message naming the method, the URL and what happened.

``httpx`` is imported on first use: it costs ~200 ms, which the CLI's start-up
should not pay when no blueprint makes a request.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import NodeFailedError
from app.limits import LIMITS, limit
from app.stream_roles import flagged_role
from main_process.nodes.base import NodeContext, NodeType
from main_process.nodes.http_stream import json_lines, sent

if TYPE_CHECKING:
    import ssl

    import httpx

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
QueryValue = str | int | float | bool | None

#: How much of an error response's body goes into the failure message.
_BODY_TAIL = 500


class HttpParams(BaseModel):
    model_config = ConfigDict(
        extra="forbid", defer_build=True, title="HTTP request", validate_by_name=True
    )

    url: str = Field(min_length=1, title="URL", description="Absolute http:// or https:// URL.")
    method: Method = Field(default="GET", description="HTTP method.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    params: dict[str, QueryValue | list[QueryValue]] = Field(
        default_factory=dict,
        title="Query parameters",
        description="Query-string parameters added to the URL.",
    )
    json_body: Any = Field(
        default=None,
        alias="json",
        title="JSON body",
        description="Request body, sent as JSON (sets Content-Type). Empty: no body.",
    )
    timeout: float = Field(
        default=30.0, gt=0, title="Timeout (s)", description="Seconds to wait for the server."
    )
    raise_for_status: bool = Field(
        default=True,
        title="Fail on 4xx/5xx",
        description="Fail the node when the response status is 4xx or 5xx.",
    )
    stream: bool = Field(
        default=False,
        description="JSON Lines (NDJSON) body: stream its lines as items to the next nodes.",
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        """Users write ``post`` as often as ``POST``; both mean the same request."""
        return value.strip().upper() if isinstance(value, str) else value


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()


def _is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _text(response: httpx.Response, content: bytes) -> str:
    """The body as text in its declared charset (UTF-8 when none); bytes that do not
    decode fail the node, naming the first bad one — never a silent U+FFFD."""
    encoding = response.encoding or "utf-8"
    try:
        return content.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        at = exc.start if isinstance(exc, UnicodeDecodeError) else 0
        raise NodeFailedError(
            f"the response body ({response.headers.get('content-type', 'no content type')}) "
            f"is not {encoding} text (at byte {at:,}); a node's output is JSON or text",
            where="output",
        ) from None


def _body(response: httpx.Response, content: bytes) -> Any:
    """Parsed JSON when the response declares JSON and parses; else the text."""
    if not content:
        return None
    if _is_json(response):
        try:
            return json.loads(content)
        except ValueError:
            pass
    return _text(response, content)


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _BODY_TAIL else "…" + text[-_BODY_TAIL:]


async def _read_bounded(response: httpx.Response, request: str) -> bytes:
    """The response's body, refused (NodeFailedError) past the limit.

    The limit is checked against ``Content-Length`` first and then as the bytes arrive
    (a chunked or lying response), so a 300 MB body costs at most the limit in memory.
    """
    cap = limit("http_body_bytes")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(request, cap, f"it declares {int(declared):,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise _too_large(request, cap, "it sent more")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(request: str, cap: int, detail: str) -> NodeFailedError:
    return NodeFailedError(
        f"{request}: the response body is larger than {cap:,} bytes ({detail}); raise "
        f"{LIMITS['http_body_bytes'].env} or {LIMITS['http_body_bytes'].flag} to accept it",
        where="params.url",
    )


async def run_http(params: HttpParams, input: Any, ctx: NodeContext) -> Any:
    """Send an HTTP request; output the response body (parsed JSON, else text)."""

    if params.stream:
        return json_lines(params, _ssl_context())
    request = f"{params.method} {params.url}"
    async with sent(params, _ssl_context()) as response:
        content = await _read_bounded(response, request)

    if params.raise_for_status and response.is_error:
        detail = _tail(content.decode(response.encoding or "utf-8", errors="replace"))
        raise NodeFailedError(
            f"{request} returned HTTP {response.status_code} {response.reason_phrase}"
            + (f": {detail}" if detail else ""),
            where="params.url",
        )
    return _body(response, content)


HTTP_TYPES: list[NodeType] = [
    NodeType("http.request", "HTTP request", "HTTP", HttpParams, run_http, streams=flagged_role),
]
