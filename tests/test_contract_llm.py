"""``llm.chat`` against a real OpenAI-compatible server on 127.0.0.1, on every
transport: the streamed reply assembled, JSON replies parsed, every failure typed and
clear, and the API key in no output or error."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app import Conductor, ExecutionResult
from tests.main_process.llm_server import LlmServer, llm_server

KEY = "sk-test-planted-key-8c1f2a"


@pytest.fixture
async def llm() -> AsyncIterator[LlmServer]:
    async with llm_server(key=KEY) as server:
        yield server


def chat(base_url: str, model: str = "echo", **params: Any) -> dict[str, Any]:
    return {
        "id": "ask",
        "inputs": {"question": {"type": "string", "default": "what is two plus two"}},
        "nodes": [
            {
                "id": "ask",
                "type": "llm.chat",
                "timeout": 30,
                "params": {
                    "base_url": base_url,
                    "model": model,
                    "api_key": KEY,
                    "messages": [
                        {"role": "system", "content": "Answer briefly."},
                        {"role": "user", "content": "{{ inputs.question }}"},
                    ],
                    **params,
                },
            }
        ],
    }


def failure(run: ExecutionResult) -> tuple[str, str]:
    assert not run.success
    error = run.nodes["ask"].error
    assert error is not None and error.node_id == "ask"
    assert KEY not in json.dumps(run.model_dump(mode="json"))
    return error.type, error.message


async def test_a_streamed_reply_is_assembled(any_conductor: Conductor, llm: LlmServer) -> None:
    bp = chat(llm.url, temperature=0.2, max_tokens=50)
    run = await any_conductor.execute(blueprint=bp, inputs={"question": "hello there world"})
    assert run.success, run.error
    out = run.nodes["ask"].output
    assert out["text"] == "echo: hello there world"
    assert out["model"] == "echo-served" and out["finish_reason"] == "stop"
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    timing = out["timing"]
    assert 0 <= timing["first_token_ms"] <= timing["total_ms"]
    sent = llm.requests[-1]
    assert sent["stream"] is True and sent["temperature"] == 0.2 and sent["max_tokens"] == 50
    assert sent["messages"][1] == {"role": "user", "content": "hello there world"}
    assert "response_format" not in sent
    assert llm.headers[-1]["authorization"] == f"Bearer {KEY}"
    assert KEY not in json.dumps(run.model_dump(mode="json"))


async def test_on_the_process_runner_the_key_arrives_whole(
    conductor: Conductor, llm: LlmServer
) -> None:
    bp = chat(llm.url, temperature=0.2, max_tokens=50)
    bp["nodes"][0]["runner"] = "process"
    bp["nodes"][0]["params"]["base_url"] = llm.url  # static params: validated once, sent as JSON
    bp["nodes"][0]["params"]["messages"] = [{"role": "user", "content": "hi"}]
    run = await conductor.execute(blueprint=bp)
    assert run.success, run.error
    assert run.nodes["ask"].output["text"] == "echo: hi"
    assert llm.headers[-1]["authorization"] == f"Bearer {KEY}"


async def test_json_replies_are_parsed(any_conductor: Conductor, llm: LlmServer) -> None:
    for model in ("json", "fenced"):
        run = await any_conductor.execute(blueprint=chat(llm.url, model, response_format="json"))
        assert run.success, run.error
        assert run.nodes["ask"].output["json"] == {"answer": "what is two plus two"}
        assert "text" not in run.nodes["ask"].output
        assert llm.requests[-1]["response_format"] == {"type": "json_object"}
    prose = await any_conductor.execute(blueprint=chat(llm.url, "prose", response_format="json"))
    kind, message = failure(prose)
    assert kind == "LlmReplyError" and "'ask'" in message and "not JSON" in message
    assert "Sure! Here is" in message


async def test_a_reply_that_is_not_a_stream_is_accepted(
    any_conductor: Conductor, llm: LlmServer
) -> None:
    run = await any_conductor.execute(blueprint=chat(llm.url, "plain"))
    assert run.success, run.error
    out = run.nodes["ask"].output
    assert out["text"] == "echo: what is two plus two" and out["finish_reason"] == "stop"
    assert out["usage"]["total_tokens"] == 5 + 6


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_failures_are_typed_and_keep_the_key_out(
    any_conductor: Conductor, llm: LlmServer
) -> None:
    refused = await any_conductor.execute(blueprint=chat(f"http://127.0.0.1:{_closed_port()}/v1"))
    kind, message = failure(refused)
    assert kind == "LlmConnectionError" and "could not connect" in message

    crashed = await any_conductor.execute(blueprint=chat(llm.url, "boom"))
    kind, message = failure(crashed)
    assert kind == "LlmHttpError" and "HTTP 500" in message and "the model crashed" in message

    wrong = chat(llm.url)
    wrong["nodes"][0]["params"]["api_key"] = KEY + "-wrong"
    denied = await any_conductor.execute(blueprint=wrong)
    kind, message = failure(denied)
    assert kind == "LlmHttpError" and "HTTP 401" in message
    assert "Incorrect API key provided: ••••" in message

    cut = await any_conductor.execute(blueprint=chat(llm.url, "no-done"))
    kind, message = failure(cut)
    assert kind == "LlmStreamError" and "[DONE]" in message

    mid = await any_conductor.execute(blueprint=chat(llm.url, "mid-error"))
    kind, message = failure(mid)
    assert kind == "LlmHttpError" and "ran out of memory" in message


async def test_a_reply_past_the_value_limit_fails_typed(
    conductor: Conductor, llm: LlmServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_MAX_VALUE_BYTES", str(200_000))
    big = chat(llm.url, "huge")
    run = await conductor.execute(blueprint=big, inputs={"question": "250"})
    kind, message = failure(run)
    assert kind == "LlmReplyError" and "200,000" in message
    assert "CONDUCTOR_MAX_VALUE_BYTES" in message
    fits = await conductor.execute(blueprint=big, inputs={"question": "100"})
    assert fits.success and len(fits.nodes["ask"].output["text"]) == 100_000


async def test_a_stalled_stream_ends_at_the_nodes_timeout(
    conductor: Conductor, llm: LlmServer
) -> None:
    stalled = chat(llm.url, "stall")
    stalled["nodes"][0]["timeout"] = 0.5
    started = time.monotonic()
    run = await conductor.execute(blueprint=stalled)
    kind, message = failure(run)
    assert kind == "NodeTimeoutError" and "0.5 s" in message
    assert time.monotonic() - started < 20


async def test_bad_params_are_validation_problems(conductor: Conductor) -> None:
    bp = chat("http://127.0.0.1:1/v1", temperature=7)
    bp["nodes"][0]["params"]["messages"] = []
    problems = await conductor.validate(bp)
    places = {problem.where for problem in problems}
    assert {"nodes[0].params.temperature", "nodes[0].params.messages"} <= places


async def test_the_llm_triage_example_runs(any_conductor: Conductor, llm: LlmServer) -> None:
    llm.key = None  # the example sends no key (a hosted endpoint's comes from secrets)
    base = {"base_url": llm.url, "model": "triage"}
    urgent = await any_conductor.execute(blueprint_id="llm-triage", inputs=base)
    assert urgent.success, urgent.error
    tokens = urgent.outputs.pop("tokens")
    assert urgent.outputs == {"action": "page the on-call team", "category": "billing"}
    assert tokens == urgent.nodes["classify"].output["usage"]["total_tokens"] > 0
    assert urgent.nodes["queue"].status.value == "skipped"
    calm = await any_conductor.execute(
        blueprint_id="llm-triage", inputs={**base, "message": "How do I change my avatar?"}
    )
    assert calm.outputs["action"] == "add to the support queue"
    assert calm.outputs["category"] == "other"
    assert llm.requests[-1]["temperature"] == 0
