"""Health checks of ``conductor serve`` from a process of their own.

The harness's own event loop is busy with 200 event streams during a burst, so a
check it sends measures the harness as much as the server (1.3 s measured in the
harness against 0.5 s from outside, same burst). This prober is a separate
Python process with a blocking ``http.client`` loop: what it sees is what a
monitoring system would.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlparse

import psutil

_PROBER = r"""
import http.client, json, signal, sys, time
host, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
stop = False
def halt(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, halt)
checks = failures = 0
worst = 0.0
print("ready", flush=True)
while not stop:
    began = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/v1/health")
        ok = conn.getresponse().status == 200
        conn.close()
    except OSError:
        ok = False
    worst = max(worst, (time.perf_counter() - began) * 1000)
    checks += 1
    failures += not ok
    time.sleep(interval)
print(json.dumps({"checks": checks, "failures": failures, "max_ms": worst}), flush=True)
"""


class ExternalHealthProbe:
    """``GET /v1/health`` every ``interval`` s from another process; RSS of ``pid`` too."""

    def __init__(self, url: str, pid: int, interval: float = 0.05) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.pid, self.interval = pid, interval
        self.rss_peak_mb = 0.0
        self._result: dict[str, Any] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._sampler: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            try:
                mb = psutil.Process(self.pid).memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                return
            self.rss_peak_mb = max(self.rss_peak_mb, mb)
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> ExternalHealthProbe:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _PROBER,
            self.host,
            str(self.port),
            str(self.interval),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        await self._proc.stdout.readline()  # "ready"
        self._sampler = asyncio.get_running_loop().create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None and self._sampler is not None
        self._sampler.cancel()
        await asyncio.gather(self._sampler, return_exceptions=True)
        self._proc.terminate()
        out, _ = await self._proc.communicate()
        lines = out.decode().strip().splitlines()
        self._result = json.loads(lines[-1]) if lines else {}

    def figures(self) -> dict[str, Any]:
        return {
            "health_checks": self._result.get("checks", 0),
            "health_failures": self._result.get("failures", 1),
            "health_max_ms": round(self._result.get("max_ms", 0.0), 1),
        }
