"""Fixtures of the engine and HTTP tests: an engine on the test's data dir, and an
HTTP client talking to a real uvicorn server for it on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from main_process.engine.engine import Engine
from tests.main_process.http_harness import running_server


@pytest.fixture
async def engine(home: Path, tmp_path: Path) -> AsyncIterator[Engine]:
    eng = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        yield eng
    finally:
        await eng.close()


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """Without a token: each test sends the headers it means to."""
    async with (
        running_server(engine) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        yield http
