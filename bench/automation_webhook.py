"""Webhook round trip over a real ``conductor serve`` (issue 13: p99 ≤ 50 ms).

A 3-node blueprint with a webhook (``respond: when_finished``, bearer token) in a temp
data dir's ``blueprints/``; a ``conductor serve`` subprocess on 127.0.0.1; 1,000
sequential POSTs from one keep-alive httpx client, each timed from send to the last
byte of the answer (the execution's outputs). 50 warm-up requests first (imports,
plan cache, SQLite pages) are not counted. The same again for the blueprint under a
``concurrency`` limit of 1 (``webhook_limited_*``): the cost of its slot, two SQLite
write transactions per execution.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.main_process.serve_process import serve_process

REQUESTS = 1_000
WARM_UP = 50
TOKEN = "bench-token"
BLUEPRINT = {
    "id": "hook-bench",
    "inputs": {"n": {"type": "integer", "default": 0}},
    "triggers": [{"kind": "webhook", "name": "go"}],
    "nodes": [
        {"id": "a", "type": "set", "params": {"value": "{{ inputs.n }}"}},
        {"id": "b", "type": "set", "params": {"value": "{{ input + 1 }}"}},
        {"id": "c", "type": "set", "params": {"value": {"n": "{{ input }}"}}},
    ],
}


#: The same blueprint under ``concurrency: {limit: 1}``: what the shared slot costs.
LIMITED = {**BLUEPRINT, "id": "hook-bench-limited", "concurrency": {"limit": 1}}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(requests: int = REQUESTS) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="conductor-hook-bench-") as tmp:
        home = Path(tmp)
        (home / "blueprints").mkdir()
        for blueprint in (BLUEPRINT, LIMITED):
            path = home / "blueprints" / f"{blueprint['id']}.json"
            path.write_text(json.dumps(blueprint))
        with (
            serve_process(home, TOKEN) as url,
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
            ) as client,
        ):
            times = _round_trips(client, "hook-bench", requests)
            limited = _round_trips(client, "hook-bench-limited", requests)
    return {
        "webhook_requests": float(requests),
        "webhook_p50_ms": round(statistics.median(times), 2),
        "webhook_p99_ms": round(_percentile(times, 0.99), 2),
        "webhook_max_ms": round(max(times), 2),
        "webhook_mean_ms": round(statistics.fmean(times), 2),
        "webhook_limited_p50_ms": round(statistics.median(limited), 2),
        "webhook_limited_p99_ms": round(_percentile(limited, 0.99), 2),
    }


def _round_trips(client: httpx.Client, bp_id: str, requests: int) -> list[float]:
    """Milliseconds per request, after the warm-up; every answer is checked."""
    for i in range(WARM_UP):
        client.post(f"/v1/hooks/{bp_id}/go", json={"n": i}).raise_for_status()
    times: list[float] = []
    for i in range(requests):
        started = time.perf_counter()
        response = client.post(f"/v1/hooks/{bp_id}/go", json={"n": i})
        times.append((time.perf_counter() - started) * 1000.0)
        if response.status_code != 200 or response.json() != {"n": i + 1}:
            raise RuntimeError(f"{bp_id} request {i}: {response.status_code} {response.text}")
    return times


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
