"""Shared parts of the trigger tests: writing user blueprints, waiting on the store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.triggers import FireInfo
from main_process.engine.engine import Engine
from main_process.store import triggers as trigger_store


def write_blueprint(
    home: Path, blueprint_id: str, triggers: list[dict[str, Any]], **extra: Any
) -> Path:
    """A user blueprint (in ``blueprints/``) whose one node echoes the trigger context."""
    folder = home / "blueprints"
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "id": blueprint_id,
        "nodes": [{"id": "echo", "type": "set", "params": {"value": "{{ trigger }}"}}],
        "triggers": triggers,
        **extra,
    }
    path = folder / f"{blueprint_id}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def wait_fires(
    engine: Engine, trigger_id: str, count: int, timeout: float = 30.0
) -> list[FireInfo]:
    """The trigger's fires once at least ``count`` are recorded."""
    assert engine.store is not None
    store = engine.store
    found: list[FireInfo] = []

    async def enough() -> bool:
        nonlocal found
        found = await asyncio.to_thread(trigger_store.fires, store, trigger_id)
        return len(found) >= count

    async with asyncio.timeout(timeout):
        while not await enough():
            await asyncio.sleep(0.02)
    return found
