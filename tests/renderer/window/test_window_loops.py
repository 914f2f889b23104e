"""The monitor's view of loops and child runs, in the real window with a real worker.

A loop node's Iterations tab counts, pages and opens iterations (also live, while
the run goes on); a ``blueprint.call`` node's Child run tab opens the child's run,
whose monitor links back to the parent.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.blueprint import Blueprint
from app.blueprint_files import load_blueprint_file
from app.paths import EXAMPLES_DIR
from renderer.data_view import DataView
from renderer.main_window import MainWindow
from renderer.monitor.iterations import ITERATION_PAGE, IterationsPanel
from tests.renderer.window.conftest import until
from tests.renderer.window.test_window_run import shot

LINES = [
    {"name": "kettle", "price": 25, "qty": 2},
    {"name": "broken", "price": "x", "qty": None},
    {"name": "lamp", "price": 40, "qty": 1},
    {"name": "mug", "price": 5, "qty": 6},
]


def texts(view: DataView) -> list[str]:
    """Every key and value of the data view's tree, one level down included."""
    model = view.tree_model
    assert model is not None
    found: list[str] = []
    for row in range(model.rowCount()):
        parent = model.index(row, 0)
        found += [str(model.data(model.index(row, c))) for c in range(model.columnCount())]
        if model.canFetchMore(parent):
            model.fetchMore(parent)  # as expanding the row does
        for child in range(model.rowCount(parent)):
            found += [
                str(model.data(model.index(child, c, parent))) for c in range(model.columnCount())
            ]
    return found


def click_row(panel: IterationsPanel, row: int) -> None:
    index = panel.model.index(row, 0)
    panel.table.scrollTo(index)
    rect = panel.table.visualRect(index)
    QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def rows(panel: IterationsPanel) -> list[tuple[str, str, str]]:
    model = panel.model
    return [(model.cell(r, 0), model.cell(r, 1), model.cell(r, 2)) for r in range(model.rowCount())]


async def run_to_end(window: MainWindow, inputs: dict[str, object] | None = None) -> str:
    execution_id = await window.runs.run(inputs=inputs)
    assert execution_id is not None
    await until(
        lambda: (
            (view := window.bridge.model.execution(execution_id)) is not None
            and view.status.is_terminal
        ),
        what="the run ended",
    )
    return execution_id


async def test_loop_iterations_counts_table_and_data(window: MainWindow) -> None:
    window.document.load(load_blueprint_file(EXAMPLES_DIR / "loop-items.json"))
    window.resize(1400, 900)
    execution_id = await run_to_end(window, {"lines": LINES})
    monitor, panel = window.monitor, window.runs.subflows.iterations
    assert not monitor.tabs.isTabVisible(monitor.tabs.indexOf(panel))  # nothing selected
    window.show_node("each")  # a click on the canvas selects the monitor's row too
    await until(lambda: monitor.tabs.currentWidget() is panel, what="the Iterations tab")
    await until(lambda: panel.counts_label.text() == "3 done, 1 failed", what="counts")
    await until(lambda: "…" not in panel.model.cell(3, 0), what="the rows read")
    assert [(i, s) for i, s, _ in rows(panel)] == [
        ("0", "completed"),
        ("1", "failed"),
        ("2", "completed"),
        ("3", "completed"),
    ]
    assert "can't multiply" in rows(panel)[1][2]  # the iteration's error message

    click_row(panel, 2)
    await until(lambda: panel.data_view.title == "each · iteration 2", what="iteration 2")
    assert window.runs.subflows.pending is not None
    await window.runs.subflows.pending
    await until(lambda: '"lamp"' in texts(panel.data_view), what="iteration 2's output")
    assert "40" in texts(panel.data_view)  # its total: 40 * 1
    window.view.fit_to_view()
    shot(window, "window-loop-iterations.png")

    click_row(panel, 1)  # a failed one: its error, no output
    await until(lambda: panel.data_view.title == "each · iteration 1", what="iteration 1")
    await until(lambda: panel.data_view.tabs.count() > 0, what="the error tab")
    assert "can't multiply" in panel.data_view.error_text.toPlainText()
    assert panel.data_view.source is None

    panel.filter_box.setCurrentIndex(1)  # failed only
    await until(lambda: panel.model.rowCount() == 1, what="the failed rows")
    await until(lambda: panel.model.cell(0, 0) == "1", what="the failed row read")

    window.show_node("sum")  # not a loop: the tab goes away
    await until(
        lambda: not monitor.tabs.isTabVisible(monitor.tabs.indexOf(panel)), what="tab hidden"
    )
    assert window.runs.subflows.execution_id == execution_id
    assert not window.runs.subflows.timer.isActive()


async def test_live_counts_while_the_loop_runs(window: MainWindow) -> None:
    """Counts grow while the loop runs (read every 500 ms), and reading stops at the end."""
    conductor = window.bridge.conductor
    await conductor.save_blueprint(
        {
            "id": "slow-body",
            "nodes": [
                {"id": "wait", "type": "delay", "params": {"seconds": 0.1}},
                {"id": "out", "type": "set", "params": {"value": "{{ item }}"}},
            ],
            "edges": [{"source": "wait", "target": "out"}],
            "outputs": {"value": "{{ nodes.out.output }}"},
        }
    )
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "slow-loop",
                "nodes": [
                    {
                        "id": "each",
                        "type": "loop",
                        "params": {"items": list(range(30)), "body": "slow-body"},
                    }
                ],
            }
        )
    )
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: window.monitor.table_model.rowCount() > 0, what="the node's row")
    window.show_node("each")
    subflows, panel = window.runs.subflows, window.runs.subflows.iterations
    await until(lambda: subflows.kind == "loop", what="the loop recognised")
    assert subflows.timer.isActive()
    seen: set[str] = set()

    def partly_done() -> bool:
        seen.add(panel.counts_label.text())
        return any(t.endswith("running") and not t.startswith("0 done") for t in seen)

    await until(partly_done, what="counts during the run")
    await until(lambda: panel.counts_label.text() == "30 done, 0 failed", what="all done")
    view = window.bridge.model.execution(execution_id)
    assert view is not None and view.status.is_terminal
    assert not subflows.timer.isActive()  # no polling once the run ended
    assert panel.model.rowCount() == 30


async def test_ten_thousand_iterations_are_read_by_page(window: MainWindow) -> None:
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "many",
                "nodes": [
                    {"id": "numbers", "type": "set", "params": {"value": list(range(10_000))}},
                    {
                        "id": "each",
                        "type": "loop",
                        "params": {"items": "{{ input }}", "body": "loop-body-num"},
                    },
                ],
                "edges": [{"source": "numbers", "target": "each"}],
            }
        )
    )
    await window.bridge.conductor.save_blueprint(
        {"id": "loop-body-num", "nodes": [{"id": "x", "type": "set", "params": {"value": 1}}]}
    )
    await run_to_end(window)
    window.show_node("each")
    panel = window.runs.subflows.iterations
    await until(lambda: panel.counts_label.text() == "10,000 done, 0 failed", what="counts")
    assert panel.model.rowCount() == 10_000
    await until(lambda: "…" not in panel.model.cell(0, 0), what="first page")
    assert len(panel.model.pages) <= 2  # only what is shown was read
    click_row(panel, 9_999)  # scrolls there: the last page is read, not those between
    await until(lambda: panel.model.cell(9_999, 0) == "9999", what="the last row")
    await until(lambda: panel.data_view.title == "each · iteration 9999", what="its data")
    assert len(panel.model.pages) <= 4
    assert (9_999 // ITERATION_PAGE) in panel.model.pages


async def test_call_node_opens_its_child_run_and_back(window: MainWindow) -> None:
    window.document.load(load_blueprint_file(EXAMPLES_DIR / "subflow-parent.json"))
    parent_id = await run_to_end(window, {"net": 40})
    monitor, child = window.monitor, window.runs.subflows.child
    assert monitor.parent_link.isHidden()
    window.show_node("price")
    await until(lambda: monitor.tabs.currentWidget() is child, what="the Child run tab")
    await until(lambda: child.child_id is not None, what="the child run")
    child_id = child.child_id
    assert child_id is not None and child_id != parent_id
    assert "subflow-child" in child.label.text() and "completed" in child.label.text()
    QTest.mouseClick(child.open_button, Qt.MouseButton.LeftButton)
    await until(lambda: monitor.execution_id == child_id, what="the child run shown")
    await until(lambda: not monitor.parent_link.isHidden(), what="the way back")
    assert parent_id[:8] in monitor.parent_link.text()
    assert "price" in monitor.parent_link.text()
    assert window.document.model.blueprint_id == "subflow-child"
    monitor.parent_link.linkActivated.emit(parent_id)  # as a click on the link
    await until(lambda: monitor.execution_id == parent_id, what="the parent shown again")
    await until(monitor.parent_link.isHidden, what="no parent of the parent")
    assert window.document.model.blueprint_id == "subflow-parent"
