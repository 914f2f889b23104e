"""Shared fixtures: a fresh data dir per test and a direct conductor on it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app import Conductor, create_conductor
from app.redaction import REDACTOR

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Secrets go to the data dir's encrypted file, never to the machine's keyring.
os.environ.setdefault("CONDUCTOR_SECRETS_BACKEND", "file")


@pytest.fixture(autouse=True)
def _forget_secret_values() -> Iterator[None]:
    """Secret values this process learned (an in-process engine's) stay masked for
    the process's life: a later test starts with none."""
    yield
    REDACTOR.forget_all()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir(mode=0o700)  # as Conductor creates a data dir
    return path


@pytest.fixture
async def conductor(home: Path, tmp_path: Path) -> AsyncIterator[Conductor]:
    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture(params=["direct", "ipc", "http"])
async def any_conductor(
    request: pytest.FixtureRequest, home: Path, tmp_path: Path
) -> AsyncIterator[Conductor]:
    """A conductor over one transport (in-process, a spawned worker over a pipe, or a
    real HTTP server on 127.0.0.1), on a fresh data dir with the examples: the
    contract suites run every test once per transport."""
    from tests.main_process.http_harness import open_conductor

    async with open_conductor(request.param, home, tmp_path) as c:
        yield c
