"""Item counts on wires after a run (issue 12): "3 items" beside each wire that
carried them, nothing on a branch's untaken port, cleared when the next run starts."""

from __future__ import annotations

from app.blueprint import Blueprint
from app.events import EVENT_ADAPTER, Event
from app.states import ExecutionStatus
from renderer.main_window import MainWindow
from renderer.wire_counts import clear_wire_counts
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


async def test_a_running_streams_wires_show_its_items_so_far(window: MainWindow) -> None:
    """While a stream runs (10,000,000 items take seconds), its wires show the items put
    out so far from its progress notes; the run's end shows the totals instead."""
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "live",
                "nodes": [
                    {"id": "gen", "type": "generate", "params": {"count": 10}},
                    {"id": "all", "type": "count"},
                ],
                "edges": [{"source": "gen", "target": "all"}],
            }
        )
    )
    model = window.bridge.model
    model.ensure("live-run", "live")
    model.apply(_event(1, "execution", status="running"))
    model.apply(_event(2, "node", node_id="gen", status="running", attempt=1))
    note = {"level": "debug", "message": "1,234 items so far", "items": 1234}
    model.apply(_event(3, "log", node_id="gen", data=note))
    window.runs.show_execution("live-run")
    assert _counts(window)[("gen", "all")] == "1,234 items"
    model.apply(_event(4, "node", node_id="gen", status="completed", attempt=1))
    model.apply(_event(5, "execution", status="completed"))
    window.scene.clear_states()
    clear_wire_counts(window.scene)
    window.runs.show_execution("live-run")
    assert _counts(window)[("gen", "all")] is None  # ended: the totals come from the store


def _event(seq: int, kind: str, **fields: object) -> Event:
    return EVENT_ADAPTER.validate_python(
        {"execution_id": "live-run", "seq": seq, "ts": 1000.0 + seq, "kind": kind, **fields}
    )
