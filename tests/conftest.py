"""Shared fixtures: a fresh data dir per test and a direct conductor on it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app import Conductor, create_conductor

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
async def conductor(home: Path, tmp_path: Path) -> AsyncIterator[Conductor]:
    c = create_conductor("direct", home=home, base_dir=tmp_path, plugins=False)
    try:
        yield c
    finally:
        await c.close()
