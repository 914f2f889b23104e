"""The streaming example in the window, against a real worker: the streaming nodes show
running then completed (badges and monitor rows), the Data tab of a streamed node
says it is a stream and how many of its items were kept, wires count the items that
flowed, the inspector edits ``record``, and a stream is not pinned."""

from __future__ import annotations

from pathlib import Path

from app.blueprint import Blueprint
from app.output_handles import OutputHandle
from app.states import ExecutionStatus
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_pins import click_node
from tests.renderer.window.test_window_run import SHOTS, badge, shot

EXAMPLE = Path(__file__).resolve().parents[3] / "resources" / "examples" / "streaming-items.json"
ITEMS = 100_000


def _rows(window: MainWindow) -> dict[str, str]:
    table = window.monitor.table_model
    return {table.cell(r, 0): table.cell(r, 1) for r in range(table.rowCount())}


def _counts(window: MainWindow) -> dict[tuple[str, str], str | None]:
    return {(e.edge.source, e.edge.target): e.count_text for e in window.scene.edge_items()}


async def test_the_palette_lists_the_stream_node_types(window: MainWindow) -> None:
    palette = window.palette_panel
    for type_name in ("generate", "collect", "count", "sum", "reduce"):
        item = palette.item_for(type_name)
        assert item is not None, type_name
        assert item.parent() is not None and item.parent().text(0) == "Data"
        assert "stream" in item.toolTip(0)
    palette.set_filter("stream")  # their descriptions say so: a search finds them
    assert {"generate", "collect", "count", "sum", "reduce"} <= set(palette.visible_types())
    catalog = window.document.catalog
    assert catalog.get("generate") is not None and catalog.get("generate").streams == "produces"
    assert catalog.get("json.transform") is not None
    assert catalog.get("json.transform").streams == "params"


async def test_the_streaming_example_runs_and_shows_its_streams(window: MainWindow) -> None:
    window.resize(1400, 900)
    window.document.load(Blueprint.model_validate_json(EXAMPLE.read_text(encoding="utf-8")))
    window.document.set_node_field("numbers", ("params", "count"), ITEMS)
    window.view.fit_to_view()
    execution_id = await window.runs.run()
    assert execution_id is not None
    streaming = ("numbers", "double")
    await until(
        lambda: all(badge(window, n) == BadgeState.RUNNING for n in streaming),
        what="the streaming nodes running on the canvas",
    )
    assert all(_rows(window).get(n) in ("running", "completed") for n in streaming)
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status is ExecutionStatus.COMPLETED, what="the run completed")
    await until(lambda: set(_rows(window).values()) == {"completed"}, what="rows completed")
    await until(
        lambda: all(badge(window, n) == BadgeState.COMPLETED for n in _rows(window)),
        what=f"badges completed: {[badge(window, n) for n in _rows(window)]}",
        timeout=10,
    )

    # Wires count the items that flowed, not the 1,000 kept for display.
    # (While the stream ran they showed the items so far, from its progress notes.)
    await until(
        lambda: _counts(window)[("numbers", "double")] == f"{ITEMS:,} items",
        what=f"the totals shown: {_counts(window)}",
    )
    assert _counts(window)[("numbers", "double")] == f"{ITEMS:,} items"
    assert _counts(window)[("double", "items")] == f"{ITEMS:,} items"

    # The Data tab: a header saying it is a stream and how much of it is shown.
    click_node(window, "double")
    await window.runs.show_node_data(execution_id, "double")
    data = window.monitor.data_view
    await until(lambda: data.source is not None and data.source.total, what="first page")
    header = data.header.text()
    assert f"stream · {ITEMS:,} items · " in header and "first 1,000 shown" in header, header
    assert data.table_model is not None and data.tabs.currentWidget() is data.table
    assert data.source is not None and data.source.items[3] == {"n": 3, "double": 6}

    # The inspector shows and edits how the stream is recorded, and the stream flag.
    form = window.inspector.settings_form
    assert "record" in {spec.name for spec in form._fields}
    params = window.inspector.params_form
    assert params._rows["per_item"].editor.value is True
    window.inspector._settings_edited(("record",), "full")
    assert window.document.model.node("double").record == "full"
    await until(lambda: form._rows["record"].editor.value == "full", what="record shown")
    assert window.inspector.details.grab().save(str(SHOTS / "window-streaming-inspector.png"))
    click_node(window, "total")
    assert "record" not in {spec.name for spec in window.inspector.settings_form._fields}

    # The result shows the stream as a handle; pinning says why it is not pinned.
    result = await window.bridge.conductor.get_execution(execution_id)
    handle = result.nodes["double"].output
    assert isinstance(handle, OutputHandle) and handle.count == ITEMS
    click_node(window, "double")
    await window.runs.show_node_data(execution_id, "double")
    window.monitor.tabs.setCurrentWidget(window.monitor.data_view)
    shot(window, "window-streaming.png")
    assert await window.commands.node.pin_output() is False
    await until(lambda: "stream of" in window.statusBar().currentMessage(), what="told")

    # Unticking the stream flag hides ``record`` (the node no longer streams).
    click_node(window, "double")
    window.inspector._params_edited(("per_item",), False)
    await until(
        lambda: "record" not in {s.name for s in window.inspector.settings_form._fields},
        what="record hidden",
    )
