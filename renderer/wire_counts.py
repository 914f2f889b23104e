"""Item counts on wires after a run, as n8n shows them: "3 items" beside each wire.

A wire's count is the number of items its source node's output holds in the shown
run (a list's length; an object or a single value is one item; no output, none),
shown on wires that carried it (a branch node's fired port, or a wire without a
port); while a streaming node runs, the items it has put out so far. A stream's
count is the items that flowed, however few were kept. The totals come from
``node_output`` pages of no items — a count, never the data — asked once per
source node when the run ends or a past run is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.states import NodeStatus

if TYPE_CHECKING:
    from renderer.canvas.scene import BlueprintScene
    from renderer.main_window import MainWindow
    from renderer.monitor.monitor_model import ExecutionView


def clear_wire_counts(scene: BlueprintScene) -> None:
    for edge in scene.edge_items():
        edge.set_count(None)


async def show_wire_counts(window: MainWindow, execution_id: str) -> None:
    """Count the items on each wire of ``execution_id`` (when it is this blueprint's)."""
    view = window.bridge.model.execution(execution_id)
    if view is None or view.blueprint_id != window.document.model.blueprint_id:
        return
    sources = {edge.edge.source for edge in window.scene.edge_items()}
    counts: dict[str, int] = {}
    for node_id in sources:
        row = view.nodes.get(node_id)
        if row is None or row.status is not NodeStatus.COMPLETED:
            continue
        page = await window.bridge.conductor.node_output(execution_id, node_id, limit=0)
        if page.stream_items is not None:  # a stream: the items that flowed, not those kept
            counts[node_id] = page.stream_items
        elif page.kind != "none":  # a node that gave nothing shows no count, not "0 items"
            counts[node_id] = page.total if page.kind == "list" else 1
    if window.runs.current != execution_id:
        return  # another run was chosen meanwhile
    for edge in window.scene.edge_items():
        row = view.nodes.get(edge.edge.source)
        port = edge.edge.source_port
        fired = row is not None and (port is None or row.port == port)
        edge.set_count(counts.get(edge.edge.source) if fired else None)


def show_stream_progress(scene: BlueprintScene, view: ExecutionView) -> None:
    """While streaming nodes run, their wires show the items put out so far (from
    their progress notes, every ~2 s); the run's end replaces them with the totals."""
    for edge in scene.edge_items():
        row = view.nodes.get(edge.edge.source)
        if row is not None and row.items_so_far is not None and not row.status.is_terminal:
            edge.set_count(row.items_so_far)
