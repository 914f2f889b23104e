"""``llm.chat`` and fault-injection figures for ``bench/automation.py``.

Against the tests' OpenAI-compatible server on 127.0.0.1 (streaming, in this
process's loop) and a direct engine on a temp data dir:

* ``llm_chat_p50_ms`` / ``llm_chat_p99_ms``: a one-node ``llm.chat`` run, 200 times
  (request, stream of ~6 chunks, assembly, record);
* ``llm_stream_10mb_ms``: one reply of 10,000 chunks of 1,000 characters;
* ``inject_none_p50_ms`` / ``inject_slow0_p50_ms``: a two-node run without and with
  ``inject {b: slow:0}`` (the cost of the injection path itself).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from app import Conductor, create_conductor
from tests.main_process.llm_server import llm_server
from tests.test_contract_llm import chat

RUNS = 200


async def _timed(conductor: Conductor, runs: int, **request: Any) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await conductor.execute(**request)
        times.append((time.perf_counter() - started) * 1000)
        assert result.success, result.error
    return sorted(times)


async def _measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir(mode=0o700)
        conductor = create_conductor("direct", home=home, base_dir=Path(folder), plugins=False)
        try:
            async with llm_server() as server:
                echo = chat(server.url)
                await conductor.execute(blueprint=echo)  # warm: imports, TLS context
                times = await _timed(conductor, RUNS, blueprint=echo)
                big = await _timed(
                    conductor, 1, blueprint=chat(server.url, "huge"), inputs={"question": "10000"}
                )
            pair = {
                "id": "pair",
                "nodes": [
                    {"id": "a", "type": "set", "params": {"value": 1}},
                    {"id": "b", "type": "set", "params": {"value": 2}},
                ],
            }
            plain = await _timed(conductor, 300, blueprint=pair)
            slowed = await _timed(
                conductor, 300, blueprint=pair, config={"inject": {"b": "slow:0"}}
            )
        finally:
            await conductor.close()
    return {
        "llm_chat_p50_ms": round(statistics.median(times), 2),
        "llm_chat_p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
        "llm_stream_10mb_ms": round(big[0], 1),
        "inject_none_p50_ms": round(statistics.median(plain), 3),
        "inject_slow0_p50_ms": round(statistics.median(slowed), 3),
    }


def run() -> dict[str, float]:
    return asyncio.run(_measure())
