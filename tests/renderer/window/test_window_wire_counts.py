"""Item counts on wires after a run (issue 12): "3 items" beside each wire that
carried them, nothing on a branch's untaken port, cleared when the next run starts."""

from __future__ import annotations

from app.blueprint import Blueprint
from app.states import ExecutionStatus
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import shot


def _counts(window: MainWindow) -> dict[tuple[str, str], str | None]:
    return {(e.edge.source, e.edge.target): e.count_text for e in window.scene.edge_items()}


async def test_wires_show_how_many_items_passed_after_a_run(window: MainWindow) -> None:
    window.resize(1400, 900)
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "counts",
                "nodes": [
                    {"id": "rows", "type": "set", "params": {"value": [1, 2, 3]}},
                    {
                        "id": "check",
                        "type": "if",
                        "params": {"condition": "{{ input | length > 2 }}"},
                    },
                    {"id": "many", "type": "log", "params": {"message": "many"}},
                    {"id": "few", "type": "log", "params": {"message": "few"}},
                    {"id": "one", "type": "set", "params": {"value": {"n": 1}}},
                    {"id": "blank", "type": "set", "params": {"value": None}},
                    {"id": "after", "type": "log", "params": {"message": "after"}},
                ],
                "edges": [
                    {"source": "rows", "target": "check"},
                    {"source": "check", "target": "many", "source_port": "true"},
                    {"source": "check", "target": "few", "source_port": "false"},
                    {"source": "rows", "target": "one"},
                    {"source": "one", "target": "blank"},
                    {"source": "blank", "target": "after"},
                ],
            }
        )
    )
    window.view.fit_to_view()
    assert set(_counts(window).values()) == {None}  # nothing before a run
    execution_id = await window.runs.run()
    assert execution_id is not None
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status is ExecutionStatus.COMPLETED, what="the run completed")
    await until(lambda: _counts(window)[("rows", "check")] is not None, what="counts shown")
    counts = _counts(window)
    assert counts[("rows", "check")] == "3 items"
    assert counts[("rows", "one")] == "3 items"
    assert counts[("check", "many")] == "3 items"  # the fired port carried the input on
    assert counts[("check", "few")] is None  # the untaken port carried nothing
    assert counts[("one", "blank")] == "1 item"
    assert counts[("blank", "after")] is None  # a null output: no count, not "0 items"
    shot(window, "window-wire-counts.png")
    window.document.set_node_field("rows", ("params", "value"), [1])
    second = await window.runs.run()
    assert second is not None
    assert _counts(window)[("rows", "check")] in (None, "1 item")  # cleared, then recounted
    await until(lambda: _counts(window)[("check", "few")] == "1 item", what="recounted")
    assert _counts(window)[("check", "many")] is None
