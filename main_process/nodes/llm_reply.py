"""Reading an OpenAI-compatible chat completion: a server-sent event stream or one
JSON body, assembled into the ``llm.chat`` node's output.

Kept apart from the node so the wire format can be tested without a server. The
stream is decoded from raw bytes (not ``aiter_lines``) so that one bound covers
everything read — a server that never sends a newline costs at most the limit.
Tokens are assembled, never emitted as events: the node's output is the text.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from app.errors import LlmHttpError, LlmReplyError, LlmStreamError
from app.limits import LIMITS

#: How much of a bad chunk or reply a message quotes.
_QUOTE = 200


def clip(text: str) -> str:
    """``text`` trimmed to what a message quotes."""
    text = text.strip()
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "…"


def quote(text: str) -> str:
    return repr(clip(text))


@dataclass(slots=True)
class Reply:
    """A completion as it is read: the text so far and what the server said of it."""

    started: float
    text_cap: int
    model: str
    parts: list[str] = field(default_factory=list)
    size: int = 0
    chunks: int = 0
    done: bool = False
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    first_token_at: float | None = None

    def add(self, text: str) -> None:
        if not text:
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.size += len(text)
        if self.size > self.text_cap:
            raise too_large(self.text_cap, "value_bytes", "the reply's text")
        self.parts.append(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def take(self, chunk: Any, hide: Callable[[str], str]) -> None:
        """One chunk (``choices[0].delta``) or one whole reply (``choices[0].message``)."""
        if not isinstance(chunk, dict):
            raise LlmStreamError(f"expected a JSON object, got {quote(json.dumps(chunk))}")
        error = chunk.get("error")
        if error:
            raise LlmHttpError(f"the server reported an error: {hide(error_text(error))}")
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return  # a usage-only chunk (stream_options.include_usage) or a keep-alive
        choice = choices[0]
        if not isinstance(choice, dict):
            return
        message = choice.get("delta") or choice.get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            self.add(content)
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]

    def output(self, as_json: bool, node_id: str) -> dict[str, Any]:
        ended = time.perf_counter()
        text = self.text
        body = {"json": parse_json(text, node_id)} if as_json else {"text": text}
        usage = self.usage or {}
        first = self.first_token_at if self.first_token_at is not None else ended
        return {
            **body,
            "model": self.model,
            "usage": {
                key: usage.get(key) if isinstance(usage.get(key), int) else None
                for key in ("prompt_tokens", "completion_tokens", "total_tokens")
            },
            "timing": {
                "first_token_ms": round((first - self.started) * 1000, 3),
                "total_ms": round((ended - self.started) * 1000, 3),
            },
            "finish_reason": self.finish_reason,
        }


def parse_json(text: str, node_id: str) -> Any:
    """The reply parsed as JSON; one surrounding Markdown code fence (```json … ```),
    which local models often add, is taken off first."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and len(body) >= 6:
        body = body[3:-3]
        first_line, _, rest = body.partition("\n")
        body = rest if first_line.strip().isalpha() or not first_line.strip() else body
    try:
        return json.loads(body)
    except ValueError as exc:
        at = f" at char {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise LlmReplyError(
            f"node {node_id!r} asked for response_format json, but the model's reply is "
            f"not JSON ({exc.args[0].split(':')[0]}{at}): {quote(text)}",
            where="params.response_format",
        ) from None


def error_text(error: Any) -> str:
    """The message of an OpenAI-style error (``{"error": {"message": …}}``, a string,
    or FastAPI's ``{"detail": …}``)."""
    if isinstance(error, dict):
        for key in ("message", "detail", "error"):
            if error.get(key):
                return error_text(error[key])
        return json.dumps(error)[: _QUOTE * 2]
    return str(error)


def too_large(cap: int, name: str, what: str) -> LlmReplyError:
    spec = LIMITS[name]
    return LlmReplyError(
        f"{what} is larger than {cap:,} bytes; raise {spec.env} or {spec.flag} to accept it",
        where="output",
    )


async def bounded_chunks(chunks: AsyncIterator[bytes], cap: int) -> AsyncIterator[bytes]:
    """``chunks``, refused (LlmReplyError) once more than ``cap`` bytes arrived."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise too_large(cap, "http_body_bytes", "the reply")
        yield chunk


async def sse_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (several ``data:`` lines of one event
    joined by newlines, as the SSE format says); comments and other fields skipped."""
    buffer = bytearray()  # appended in place: a long line costs its length, not its square
    data: list[str] = []
    async for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            continue
        *lines, rest = buffer.split(b"\n")
        buffer = bytearray(rest)
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
            elif line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
    tail = bytes(buffer).rstrip(b"\r").decode("utf-8", errors="replace")
    if tail.startswith("data:"):
        data.append(tail[5:].lstrip(" "))
    if data:
        yield "\n".join(data)


async def read_stream(
    chunks: AsyncIterator[bytes], reply: Reply, hide: Callable[[str], str]
) -> None:
    """Assemble a streamed completion into ``reply``; a stream that ends before
    ``data: [DONE]`` is a LlmStreamError (the reply may be cut short)."""
    async for data in sse_data(chunks):
        if data.strip() == "[DONE]":
            reply.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise LlmStreamError(
                f"chunk {reply.chunks + 1} of the stream is not JSON: {quote(hide(data))}"
            ) from None
        reply.chunks += 1
        reply.take(chunk, hide)
    raise LlmStreamError(
        f"the stream ended without data: [DONE] after {reply.chunks} chunk(s) "
        f"({reply.size:,} characters of text): the reply may be cut short"
    )
