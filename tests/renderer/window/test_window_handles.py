"""A result whose node output came as a handle (over the inline limit) in the window,
against a real worker: the run shows, the Data tab pages the output, and pinning it
says it is too large instead of pinning the handle."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.blueprint import Blueprint
from app.output_handles import OutputHandle
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_pins import click_node, finished


@pytest.fixture
def small_inline_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1,000-byte inline limit for the worker the window spawns (it reads the env)."""
    monkeypatch.setenv("CONDUCTOR_MAX_INLINE_OUTPUT_BYTES", "1000")


async def test_a_handle_in_a_result_shows_and_is_not_pinned(
    small_inline_limit: None, window: MainWindow, tmp_path: Path
) -> None:
    items = [{"id": i, "name": f"item-{i}"} for i in range(200)]  # ~5 KB: over 1,000 B
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "handle-run",
                "nodes": [{"id": "make", "type": "set", "params": {"value": items}}],
                "ui": {"positions": {"make": [0, 0]}},
            }
        )
    )
    window.document.save(tmp_path / "handle.json")
    result = await finished(window, await window.runs.run())
    assert isinstance(result.nodes["make"].output, OutputHandle)
    assert result.nodes["make"].output.count == 200
    page = await window.bridge.conductor.node_output(result.execution_id, "make", limit=500)
    assert page.items == items  # what the Data tab pages through

    click_node(window, "make")
    assert await window.commands.node.pin_output() is False
    await until(lambda: "too large to pin" in window.statusBar().currentMessage(), what="told")
    assert window.document.model.pins() == {}
