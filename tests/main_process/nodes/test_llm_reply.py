"""The chat-completion wire format read without a server: server-sent events split
anywhere, JSON replies with or without a code fence, and the size bound."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from app.errors import LlmReplyError, LlmStreamError
from main_process.nodes.llm_reply import Reply, bounded_chunks, parse_json, read_stream, sse_data


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def chunk(text: str) -> str:
    return json.dumps({"choices": [{"delta": {"content": text}, "finish_reason": None}]})


STREAM = (
    ": keep-alive comment\r\n\r\n"
    f"data: {chunk('héllo ')}\r\n\r\n"
    f"event: message\ndata: {chunk('wörld')}\n\n"
    "data: [DONE]\n\n"
).encode()


@pytest.mark.parametrize("size", [1, 3, 7, 4096])
async def test_events_split_anywhere_are_read_whole(size: int) -> None:
    reply = Reply(started=time.perf_counter(), text_cap=1000, model="m")
    await read_stream(pieces(STREAM, size), reply, str)
    assert reply.text == "héllo wörld" and reply.done and reply.chunks == 2


async def test_multi_line_data_and_a_missing_last_newline() -> None:
    events = [e async for e in sse_data(pieces(b"data: a\ndata: b\n\ndata: c", 2))]
    assert events == ["a\nb", "c"]


async def test_a_stream_without_done_or_with_bad_json_is_typed() -> None:
    reply = Reply(started=0.0, text_cap=1000, model="m")
    with pytest.raises(LlmStreamError, match=r"without data: \[DONE\] after 1 chunk"):
        await read_stream(pieces(f"data: {chunk('x')}\n\n".encode(), 5), reply, str)
    with pytest.raises(LlmStreamError, match="chunk 1 of the stream is not JSON"):
        await read_stream(pieces(b"data: {nope\n\n", 64), Reply(0.0, 1000, "m"), str)


async def test_a_long_line_without_newlines_is_bounded() -> None:
    endless = pieces(b"x" * 5_000_000, 65536)
    with pytest.raises(LlmReplyError, match="larger than 1,000,000 bytes"):
        async for _ in sse_data(bounded_chunks(endless, 1_000_000)):
            pass


def test_json_replies_with_and_without_a_fence() -> None:
    assert parse_json('  {"a": 1} ', "n") == {"a": 1}
    assert parse_json('```json\n{"a": 1}\n```', "n") == {"a": 1}
    assert parse_json("```\n[1, 2]\n```", "n") == [1, 2]
    with pytest.raises(LlmReplyError, match="node 'n' asked for response_format json"):
        parse_json("no JSON here", "n")
