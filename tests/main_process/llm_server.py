"""A small OpenAI-compatible chat-completions server for the ``llm.chat`` tests.

A Starlette app speaking the wire format (``POST /v1/chat/completions``, a server-sent
event stream of ``chat.completion.chunk`` objects ending in ``data: [DONE]``, or one
``chat.completion`` body when ``stream`` is false), started with uvicorn on a free
port of 127.0.0.1 in the test's own loop. The model name picks a behaviour:

* ``echo`` (any other name too): replies ``echo: <last message>``, streamed a few
  characters per chunk, usage in a last chunk when ``stream_options.include_usage``;
* ``json``: replies ``{"answer": <last message>}`` (inside a code fence with ``fenced``);
* ``triage``: classifies the last message as ``{"category", "urgent"}`` JSON (for
  the ``llm-triage`` example: "invoice" is billing, "urgent" is urgent);
* ``prose``: replies text that is not JSON;
* ``no-done``: streams and closes without ``data: [DONE]``;
* ``plain``: answers one JSON body even though a stream was asked for;
* ``boom``: HTTP 500 with an OpenAI-style error body;
* ``mid-error``: streams a chunk, then an ``{"error": …}`` chunk;
* ``stall``: sends the first chunk, then nothing for a minute;
* ``huge``: streams ``N`` (the last message, a number) chunks of 1,000 characters.

With ``key`` set, a request without ``Authorization: Bearer <key>`` gets a 401 whose
message echoes the key it was given — as OpenAI's does — so redaction is tested.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from main_process.http.server import bind
from tests.main_process.http_harness import wait_until


@dataclass
class LlmServer:
    """The running server: its base URL and every request body and header it got."""

    url: str
    key: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _reply_text(model: str, last: str) -> str:
    if model == "json":
        return json.dumps({"answer": last})
    if model == "fenced":
        return "```json\n" + json.dumps({"answer": last}) + "\n```"
    if model == "triage":
        words = last.lower()
        category = "billing" if "invoice" in words else "other"
        return json.dumps({"category": category, "urgent": "urgent" in words})
    if model == "prose":
        return "Sure! Here is the answer you asked for."
    return f"echo: {last}"


def _chunk(model: str, content: str | None, finish: str | None = None) -> str:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": f"{model}-served",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _usage(prompt: str, text: str) -> dict[str, int]:
    prompt_tokens, completion_tokens = len(prompt.split()), len(text.split())
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


async def _stream(model: str, text: str, prompt: str, usage: bool) -> AsyncIterator[str]:
    yield _chunk(model, None)  # the role chunk servers send first, no content
    if model == "stall":
        await asyncio.sleep(60)
    if model == "huge":
        for _ in range(int(prompt)):
            yield _chunk(model, "x" * 1000)
        yield "data: [DONE]\n\n"
        return
    for i in range(0, len(text), 4):
        yield _chunk(model, text[i : i + 4])
        await asyncio.sleep(0)
    if model == "mid-error":
        yield f"data: {json.dumps({'error': {'message': 'the model ran out of memory'}})}\n\n"
        return
    yield _chunk(model, None, "stop")
    if usage:
        body = {"object": "chat.completion.chunk", "choices": [], "usage": _usage(prompt, text)}
        yield f"data: {json.dumps(body)}\n\n"
    if model != "no-done":
        yield "data: [DONE]\n\n"


def _app(server: LlmServer) -> Starlette:
    async def completions(request: Request) -> Response:
        body = await request.json()
        server.requests.append(body)
        server.headers.append(dict(request.headers))
        given = request.headers.get("authorization", "")
        if server.key is not None and given != f"Bearer {server.key}":
            shown = given.removeprefix("Bearer ") or "(none)"
            return JSONResponse(
                {"error": {"message": f"Incorrect API key provided: {shown}", "code": 401}},
                status_code=401,
            )
        model = str(body["model"])
        if model == "boom":
            error = {"message": "the model crashed", "type": "server_error"}
            return JSONResponse({"error": error}, status_code=500)
        last = str(body["messages"][-1]["content"])
        text = _reply_text(model, last)
        if body.get("stream") and model != "plain":
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _stream(model, text, last, usage), media_type="text/event-stream"
            )
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": f"{model}-served",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": _usage(last, text),
            }
        )

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@asynccontextmanager
async def llm_server(key: str | None = None) -> AsyncIterator[LlmServer]:
    """The server on a free port of this loop; yields it with its base URL (``…/v1``)."""
    sock = bind("127.0.0.1", 0)
    server = LlmServer(url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1", key=key)
    config = uvicorn.Config(_app(server), log_level="warning", access_log=False, lifespan="off")
    uv = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(uv.serve(sockets=[sock]))
    try:
        await wait_until(lambda: uv.started or task.done())
        assert uv.started, "the LLM test server did not start"
        yield server
    finally:
        uv.should_exit = True
        await task
        sock.close()
