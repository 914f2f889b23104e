"""Schemathesis against ``conductor serve``'s own OpenAPI document, on a live server.

The server runs on this loop (a real uvicorn on 127.0.0.1, a fresh data dir); the
schema is loaded from its ``/openapi.json`` and every operation gets generated
requests — positive (fitting the schema) and negative (not fitting it) — sent with
the bearer token from a thread, since schemathesis calls are blocking. Judged:

* no response is a 5xx (an error the caller did not cause), and every 4xx/5xx
  body is the typed ``{"error": {"type", "message", "where"}}``;
* no call fails at the transport level or outlives the timeout (a crash or hang);
* afterwards the server still answers ``/v1/health`` and runs a blueprint.

Schemathesis' own response checks run too; what they report is counted as
``schema_mismatches`` (the document and the server disagree) and listed.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from main_process.engine.engine import Engine
from tests.main_process.http_harness import AUTH, running_server
from tests.reliability.figures import Figures

#: A body that fits the schema may still mean nothing (a cycle, an unknown node type):
#: the schema cannot say that, so a 422 for it is the right answer, not a mismatch.
_NOT_CHECKED = [positive_data_acceptance]
_BODY = {"id": "probe", "nodes": [{"id": "a", "type": "set", "params": {"value": 41}}]}


def _typed_body(response: requests.Response) -> str | None:
    """Why an error response's body is not a typed error naming what and where, or None."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"not a typed error body: {response.text[:160]!r}"
    if not isinstance(error, dict) or not error.get("type") or not error.get("message"):
        return f"an error without type or message: {error!r:.160}"
    if "where" not in error:
        return f"an error without where: {error!r:.160}"
    return None


class _Session:
    """One blocking HTTP session and the judging of each response."""

    def __init__(self, url: str, timeout: float, figures: Figures) -> None:
        self.url = url
        self.timeout = timeout
        self.figures = figures
        self.session = requests.Session()
        self.mismatches = 0

    def check(self, case: Any, label: str) -> None:
        figures = self.figures
        figures.tried(label)
        started = time.monotonic()
        try:
            response = case.call(
                base_url=self.url, session=self.session, headers=AUTH, timeout=self.timeout
            )
        except requests.Timeout:
            figures.hang(f"{label}: no answer within {self.timeout} s")
            return
        except requests.RequestException as exc:
            figures.crash(f"{label}: {type(exc).__name__}: {exc}")
            return
        status = response.status_code
        if status >= 500:
            figures.fail(f"{label}: {status} {response.text[:200]!r}")
        if status >= 400 and (why := _typed_body(response)) is not None:
            figures.untyped(f"{label}: {status}: {why}")
        if time.monotonic() - started > self.timeout:
            figures.hang(f"{label}: took {time.monotonic() - started:.1f} s")
        try:
            case.validate_response(response, headers=AUTH, excluded_checks=_NOT_CHECKED)
        except FailureGroup as group:
            self.mismatches += 1
            figures.note(f"schema: {label}: {status}: {group.exceptions[0].title}")
        except AssertionError as exc:
            self.mismatches += 1
            figures.note(f"schema: {label}: {status}: {str(exc)[:160]}")

    def drive(self, strategy: Any, label: str, max_examples: int, seed: int) -> None:
        @hypothesis_seed(seed)
        @settings(
            max_examples=max_examples,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def call(case: Any) -> None:
            self.check(case, label)

        call()


def _run(url: str, max_examples: int, seed: int, timeout: float, figures: Figures) -> int:
    """Drive every operation in both generation modes; returns schema mismatches."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", timeout=timeout)
    driver = _Session(url, timeout, figures)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.method.upper()} {operation.path} {mode.value}"
            strategy = operation.as_strategy(generation_mode=mode)
            try:
                driver.drive(strategy, label, max_examples, seed)
            except Exception as exc:  # e.g. nothing negative to make: not a server fault
                figures.note(f"{label}: generation stopped: {type(exc).__name__}: {str(exc)[:160]}")
    return driver.mismatches


async def fuzz_http_schema(
    max_examples: int = 50, seed: int = 0, *, timeout: float = 30.0
) -> dict[str, Any]:
    """Schemathesis against a live server's ``/openapi.json``, ``max_examples`` per
    operation and generation mode.

    Returns ``cases`` (requests sent), ``crashes``, ``hangs``, ``untyped_errors``
    (an error body that is not the typed shape), ``wrong_answers`` (a 5xx),
    ``schema_mismatches``, ``serves_after``, ``by_label`` and the first ``failures``.
    """
    figures = Figures("http_schema")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="conductor-fuzz-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        engine = Engine(home, base_dir=Path(tmp), plugins=False)
        try:
            async with running_server(engine) as url:
                mismatches = await asyncio.to_thread(
                    _run, url, max_examples, seed, timeout, figures
                )
                serving = await _serves(url)
        finally:
            await engine.close()
    return figures.result(
        schema_mismatches=mismatches,
        serves_after=serving,
        seconds=round(time.perf_counter() - started, 2),
    )


async def _serves(url: str) -> bool:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        health = await client.get("/v1/health")
        run = await client.post(
            "/v1/executions", json={"blueprint": _BODY, "wait": True}, headers=AUTH
        )
    return health.status_code == 200 and run.status_code == 200 and run.json()["outputs"] == 41
