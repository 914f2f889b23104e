"""Secrets figures: what ``{{ secrets.NAME }}`` and redaction by value cost.

* ``run_plain_ms`` / ``run_secret_ms``: median of 200 direct runs of a 3-node blueprint
  without and with a secret read (the file backend, a real engine on a temp data dir);
* ``redact_10k_rows_ms``: masking a 10,000-row output that holds no secret (the
  JSON search that spares the walk), ``redact_10k_rows_hit_ms`` one that holds it once.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from typing import Any

PLANTED = "bench-secret-value-123"


def _blueprint(secret: bool) -> dict[str, Any]:
    value = "{{ secrets.TOKEN }}" if secret else "plain-value"
    return {
        "id": "secret-bench" if secret else "plain-bench",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": {"token": value}}},
            {"id": "b", "type": "log", "params": {"message": "using {{ input.token }}"}},
            {"id": "c", "type": "set", "params": {"value": "{{ input }}"}},
        ],
    }


async def _runs() -> dict[str, float]:
    from main_process.engine.engine import Engine

    os.environ.setdefault("CONDUCTOR_SECRETS_BACKEND", "file")
    with tempfile.TemporaryDirectory() as home:
        engine = Engine(home, plugins=False)
        try:
            await engine.secrets.set("TOKEN", PLANTED)
            figures: dict[str, float] = {}
            for name, secret in (("run_plain_ms", False), ("run_secret_ms", True)):
                times = []
                for _ in range(200):
                    started = time.perf_counter()
                    result = await engine.execute(blueprint=_blueprint(secret))
                    times.append((time.perf_counter() - started) * 1000)
                    assert result.success, result.error
                figures[name] = round(statistics.median(times), 3)
            return figures
        finally:
            await engine.close()


def _redaction() -> dict[str, float]:
    from app.redaction import Redactor

    redactor = Redactor()
    redactor.add(PLANTED)
    rows = [{"id": i, "name": f"item-{i}", "tags": ["a", "b"]} for i in range(10_000)]
    started = time.perf_counter()
    redactor.value(rows)
    clean = (time.perf_counter() - started) * 1000
    rows[5000]["name"] = f"x {PLANTED}"
    started = time.perf_counter()
    redactor.value(rows)
    hit = (time.perf_counter() - started) * 1000
    return {"redact_10k_rows_ms": round(clean, 2), "redact_10k_rows_hit_ms": round(hit, 2)}


def run() -> dict[str, float]:
    return {**asyncio.run(_runs()), **_redaction()}
