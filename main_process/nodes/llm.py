"""``llm.chat``: one chat completion from any OpenAI-compatible endpoint.

OpenAI, a local Ollama (``http://127.0.0.1:11434/v1``) or llama.cpp server, vLLM:
they all speak ``POST {base_url}/chat/completions``. The request asks for a stream
(``stream: true``) and the server-sent chunks are assembled into the text (see
:mod:`main_process.nodes.llm_reply`); a server that answers with one JSON body
instead is accepted too. Tokens are not emitted as events — the node's output is
the whole reply, its token counts and its timing.

The API key (usually ``{{ secrets.NAME }}``) is sent as a bearer token and never
appears in the output or in an error: servers that echo it back ("Incorrect API key
provided: sk-…") have it replaced by ``••••``. A key shown only in part (OpenAI shows
``sk-ab***yz``) is the server's business; no whole key survives.

The call is bounded in time by the node's ``timeout`` (else ``DEFAULT_TIMEOUT``)
and in size by the limits: ``http_body_bytes`` for the bytes read,
``value_bytes`` for the assembled text.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.errors import (
    LlmConnectionError,
    LlmError,
    LlmHttpError,
    LlmReplyError,
    LlmStreamError,
    NodeTimeoutError,
)
from app.limits import limit
from app.value_size import value_limit
from main_process.nodes.base import NodeContext, NodeType
from main_process.nodes.http import _ssl_context
from main_process.nodes.llm_reply import (
    Reply,
    bounded_chunks,
    clip,
    error_text,
    quote,
    read_stream,
)

if TYPE_CHECKING:
    import httpx

#: Seconds a call may take when the node has no timeout of its own.
DEFAULT_TIMEOUT = 300.0
#: What replaces the API key wherever a message would show it.
MASK = "••••"
#: How much of an error reply is read for its message.
_ERROR_BODY = 64 * 1024


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Message")

    role: Literal["system", "user", "assistant", "tool"] = Field(
        default="user", description="Who says it."
    )
    content: str = Field(description="The message's text (templates allowed).")


class LlmParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="LLM chat")

    base_url: str = Field(
        min_length=1,
        title="Base URL",
        description="An OpenAI-compatible API, e.g. https://api.openai.com/v1 or "
        "http://127.0.0.1:11434/v1 (Ollama); /chat/completions is added.",
    )
    model: str = Field(min_length=1, description="The model's name on that server.")
    messages: list[ChatMessage] = Field(
        min_length=1, description="The conversation so far: role and content of each."
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature. Empty: the server's."
    )
    response_format: Literal["text", "json"] = Field(
        default="text",
        title="Response format",
        description="json: ask for a JSON object and output it parsed (fails if it is not).",
    )
    # A plain string, not SecretStr: the process runner sends params to its worker as
    # JSON, where a SecretStr would arrive as "**********". Keys stay out of messages
    # by _Hider instead.
    api_key: str = Field(
        default="",
        title="API key",
        description="Sent as a bearer token; use {{ secrets.NAME }}. Empty: none sent.",
        json_schema_extra={"format": "password", "writeOnly": True},
    )
    max_tokens: int | None = Field(
        default=None, ge=1, title="Max tokens", description="Most tokens to generate."
    )


def endpoint(base_url: str) -> str:
    """``{base_url}/chat/completions``, unless the URL already names that route."""
    url = base_url.strip().rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def request_body(params: LlmParams) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": params.model,
        "messages": [message.model_dump() for message in params.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.max_tokens is not None:
        body["max_tokens"] = params.max_tokens
    if params.response_format == "json":
        body["response_format"] = {"type": "json_object"}
    return body


class _Hider:
    """Replaces the key in any text a message is made of."""

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, text: str) -> str:
        return text.replace(self._key, MASK) if self._key else text


async def run_llm(params: LlmParams, input: Any, ctx: NodeContext) -> dict[str, Any]:
    """Ask an OpenAI-compatible chat endpoint; output its reply (text or parsed JSON),
    token counts and timing."""
    import httpx

    key = params.api_key
    hide = _Hider(key)
    url = endpoint(params.base_url)
    what = f"{params.model} at {url}"
    seconds = ctx.timeout if ctx.timeout is not None else DEFAULT_TIMEOUT
    headers = {"Accept": "text/event-stream, application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    reply = Reply(started=time.perf_counter(), text_cap=value_limit(), model=params.model)
    try:
        async with httpx.AsyncClient(verify=_ssl_context(), timeout=seconds) as client:
            request = client.build_request("POST", url, json=request_body(params), headers=headers)
            response = await client.send(request, stream=True)
            try:
                await _read(response, reply, hide, what)
            finally:
                await response.aclose()
    except LlmError as exc:
        exc.message = hide(exc.message)
        if not exc.message.startswith(what):
            exc.message = f"{what}: {exc.message}"
        exc.args = (exc.message,)
        raise
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise LlmConnectionError(
            f"invalid base URL {params.base_url!r}: {hide(str(exc))}", where="params.base_url"
        ) from None
    except httpx.TimeoutException:
        raise NodeTimeoutError(
            f"{what} did not answer within {seconds:g} s", where="params.base_url"
        ) from None
    except httpx.ConnectError as exc:
        raise LlmConnectionError(
            f"could not connect to {url}: {hide(str(exc)) or 'connection failed'}",
            where="params.base_url",
        ) from None
    except httpx.HTTPError as exc:
        raise LlmStreamError(
            f"{what}: the connection broke after {reply.chunks} chunk(s): "
            f"{type(exc).__name__}: {hide(str(exc))}",
            where="params.base_url",
        ) from None
    return reply.output(params.response_format == "json", ctx.node_id)


async def _read(response: httpx.Response, reply: Reply, hide: _Hider, what: str) -> None:
    if response.is_error:
        raise await _http_error(response, hide, what)
    chunks = bounded_chunks(response.aiter_bytes(), limit("http_body_bytes"))
    media = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "text/event-stream":
        await read_stream(chunks, reply, hide)
        return
    body = b"".join([chunk async for chunk in chunks])
    try:
        whole = json.loads(body)
    except ValueError:
        raise LlmReplyError(
            f"{what} answered {media or 'no content type'}, neither an event stream nor a "
            f"JSON chat completion: {quote(hide(body.decode('utf-8', errors='replace')))}",
            where="params.base_url",
        ) from None
    if not isinstance(whole, dict) or not isinstance(whole.get("choices"), list):
        if isinstance(whole, dict) and whole.get("error"):
            raise LlmHttpError(f"the server reported an error: {hide(error_text(whole))}")
        raise LlmReplyError(
            f"{what} answered JSON that is not a chat completion (no choices): "
            f"{quote(hide(json.dumps(whole)))}",
            where="params.base_url",
        )
    reply.take(whole, hide)


async def _http_error(response: httpx.Response, hide: _Hider, what: str) -> LlmHttpError:
    """The server's own error message (its JSON ``error.message``, else its text)."""
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= _ERROR_BODY:
            break
    text = body[:_ERROR_BODY].decode("utf-8", errors="replace")
    try:
        detail = error_text(json.loads(text))
    except ValueError:
        detail = text.strip()
    detail = clip(hide(detail))
    status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    return LlmHttpError(
        f"{what} returned {status}" + (f": {detail}" if detail else ""),
        where="params.base_url",
    )


LLM_TYPES: list[NodeType] = [
    NodeType("llm.chat", "LLM chat", "AI", LlmParams, run_llm),
]
