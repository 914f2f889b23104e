"""The start-up heap is frozen once an engine exists (see :mod:`main_process.heap`)."""

from __future__ import annotations

import gc
from pathlib import Path

from main_process.engine.engine import Engine


async def test_an_engine_freezes_the_start_up_heap(home: Path, tmp_path: Path) -> None:
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    try:
        # The modules, classes and schemas of start-up: a full collection skips them.
        assert gc.get_freeze_count() > 10_000
    finally:
        await engine.close()
