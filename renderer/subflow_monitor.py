"""The monitor's view of loops and child runs (issue 13 §2, §3).

* **Loop node selected**: the Iterations tab shows its counts ("N done, M failed"),
  a table of its recorded iterations read by page of
  :data:`~renderer.monitor.iterations.ITERATION_PAGE` (a 10,000-iteration loop is
  never read whole), an all/failed filter, and a clicked iteration's output and
  error (read alone, through ``output_index``).
* **Call node selected**: the Child run tab shows the child execution it started
  (id, blueprint, status) with Open, which shows that run as History does; a child
  run's monitor links back to its parent (``child of ▸ id``).
* **Live**: while the shown execution runs and such a node is selected, a
  :data:`REFRESH_MS` timer re-reads the counts and the visible rows (iterations are
  written in batches, not as events, so there is nothing to listen to); it stops
  when the run ends (one last read) or the selection moves — no polling after.

Which node is a loop comes from the blueprint the execution ran (read once per
execution; the shown run's is known already). Everything goes through
``conductor.subflows`` on the bridge, as tasks: a slow worker never freezes the
window, and an answer for a node no longer selected is dropped (a generation count).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from app.blueprint import Blueprint
from app.states import NodeStatus
from renderer.data_models import memory_fetcher
from renderer.monitor.child_run import ChildRunPanel
from renderer.monitor.iterations import ITERATION_PAGE, IterationsPanel

if TYPE_CHECKING:
    from renderer.run_control import RunControl

#: How often a live loop's iterations (or a call's child status) are re-read.
REFRESH_MS = 500
LOOP_TYPE = "loop"
CALL_TYPE = "blueprint.call"


class SubflowMonitor:
    """Iterations and child runs of the monitor's selected node (see the module docs)."""

    def __init__(self, runs: RunControl) -> None:
        self.runs = runs
        self.bridge = runs.bridge
        self.monitor = runs.window.monitor
        self.iterations = IterationsPanel()
        self.child = ChildRunPanel()
        tabs = self.monitor.tabs
        for panel, title in ((self.iterations, "Iterations"), (self.child, "Child run")):
            tabs.setTabVisible(tabs.addTab(panel, title), False)
        #: The selection shown: execution, node and its type (loop / call / other).
        self.execution_id: str | None = None
        self.node_id: str | None = None
        self.kind: str | None = None
        self._generation = 0
        self._blueprints: dict[str, Blueprint] = {}
        self._refreshing: asyncio.Future[None] | None = None
        #: A row clicked before its page arrived: shown when it does.
        self._wanted_row: int | None = None
        #: The latest selection or refresh task (tests await it).
        self.pending: asyncio.Future[None] | None = None
        self.timer = QTimer(self.monitor)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.monitor.node_data_requested.connect(self.node_selected)
        self.bridge.execution_finished.connect(self._finished)
        self.iterations.model.page_wanted.connect(self._fetch_page)
        self.iterations.filter_changed.connect(self._filter_changed)
        self.iterations.row_chosen.connect(self.show_iteration)
        self.child.open_requested.connect(self.monitor.execution_link_requested)

    # -- selection ------------------------------------------------------------------

    def execution_shown(self, execution_id: str) -> None:
        """The monitor shows another execution: drop the node, link a child to its parent."""
        if execution_id != self.execution_id:
            self._select(execution_id, None, None)
        self.monitor.show_parent(None, None)

        async def links() -> None:
            found = await self.bridge.conductor.subflows.execution_links(execution_id)
            if self.monitor.execution_id == execution_id:  # still the one shown
                self.monitor.show_parent(found.parent_execution_id, found.parent_node_id)

        self.bridge.submit(links(), "execution links")

    def node_selected(self, execution_id: str, node_id: str) -> asyncio.Future[None]:
        """A node was selected in the monitor: show its iterations or child run, if any."""
        self._select(execution_id, node_id, None)
        generation = self._generation

        async def resolve() -> None:
            blueprint = await self._blueprint(execution_id)
            if generation != self._generation:
                return
            spec = next((n for n in blueprint.nodes if n.id == node_id), None)
            kind = spec.type if spec is not None else None
            if kind in (LOOP_TYPE, CALL_TYPE):
                self._select(execution_id, node_id, kind)
                await self._refresh()

        self.pending = self.bridge.submit(resolve(), "node runs")
        return self.pending

    async def _blueprint(self, execution_id: str) -> Blueprint:
        shown = self.runs.shown_run()
        if shown is not None and shown[0] == execution_id:
            return shown[1]
        if execution_id not in self._blueprints:
            conductor = self.bridge.conductor
            self._blueprints[execution_id] = await conductor.execution_blueprint(execution_id)
        return self._blueprints[execution_id]

    def _select(self, execution_id: str, node_id: str | None, kind: str | None) -> None:
        self._generation += 1
        self.execution_id, self.node_id, self.kind = execution_id, node_id, kind
        self._wanted_row = None
        self.timer.stop()
        tabs = self.monitor.tabs
        for panel, shown in ((self.iterations, LOOP_TYPE), (self.child, CALL_TYPE)):
            tabs.setTabVisible(tabs.indexOf(panel), kind == shown)
        if kind == LOOP_TYPE:
            self.iterations.model.reset()
            self.iterations.data_view.clear()
            self.iterations.data_view.header.setText("Click an iteration to see its data")
            tabs.setCurrentWidget(self.iterations)
        elif kind == CALL_TYPE:
            tabs.setCurrentWidget(self.child)
        if kind is not None and self._live():
            self.timer.start()

    def _live(self) -> bool:
        view = self.bridge.model.execution(self.execution_id or "")
        return view is not None and not view.status.is_terminal

    # -- reading --------------------------------------------------------------------

    def _status(self) -> str | None:
        return NodeStatus.FAILED.value if self.iterations.failed_only else None

    async def _refresh(self) -> None:
        """Re-read the counts and first page (a loop) or the children (a call)."""
        execution_id, node_id, generation = self.execution_id, self.node_id, self._generation
        if execution_id is None or node_id is None:
            return
        live = self._live()
        subflows = self.bridge.conductor.subflows
        if self.kind == LOOP_TYPE:
            page = await subflows.list_iterations(
                execution_id, node_id, limit=ITERATION_PAGE, status=self._status()
            )
            if generation != self._generation:
                return
            counts = page.counts
            failed_only = self.iterations.failed_only
            total = counts.failed if failed_only else counts.completed + counts.failed
            self.iterations.model.refresh(total)
            self.iterations.model.set_page(0, page.items)
            self.iterations.show_counts(node_id, counts, live=live)
        elif self.kind == CALL_TYPE:
            links = await subflows.execution_links(execution_id)
            if generation == self._generation:
                self.child.show_children(node_id, links.children)

    def _tick(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            return  # the previous read is still on its way: never pile them up
        if not self._live():
            self.timer.stop()  # the run ended: one last read, then no more
        self._refreshing = self.pending = self.bridge.submit(self._refresh(), "iterations")

    def _finished(self, execution_id: str, _result: object) -> None:
        if execution_id == self.execution_id and self.kind is not None:
            self.timer.stop()
            self.pending = self.bridge.submit(self._refresh(), "iterations")

    def _filter_changed(self) -> None:
        if self.execution_id is not None and self.kind == LOOP_TYPE:
            self._select(self.execution_id, self.node_id, self.kind)
            self.pending = self.bridge.submit(self._refresh(), "iterations")

    def _fetch_page(self, number: int) -> None:
        execution_id, node_id, generation = self.execution_id, self.node_id, self._generation
        if execution_id is None or node_id is None:
            return
        model = self.iterations.model

        async def fetch() -> None:
            try:
                page = await self.bridge.conductor.subflows.list_iterations(
                    execution_id,
                    node_id,
                    offset=number * ITERATION_PAGE,
                    limit=ITERATION_PAGE,
                    status=self._status(),
                )
            except BaseException:
                if generation == self._generation:
                    model.page_failed(number)
                raise
            if generation == self._generation:
                model.set_page(number, page.items)
                wanted = self._wanted_row
                if wanted is not None and wanted // ITERATION_PAGE == number:
                    self.show_iteration(wanted)

        self.bridge.submit(fetch(), "iterations page")

    def show_iteration(self, row: int) -> asyncio.Future[None] | None:
        """Show the iteration in ``row``: its output (read alone) and its error."""
        item = self.iterations.model.iteration(row)
        execution_id, node_id, generation = self.execution_id, self.node_id, self._generation
        self._wanted_row = row if item is None else None
        if item is None or execution_id is None or node_id is None:
            return None
        index = item.index
        view = self.iterations.data_view

        async def show() -> None:
            # Rows only move later (an earlier index recorded late), so the one asked
            # for is in the page that starts at its row.
            page = await self.bridge.conductor.subflows.list_iterations(
                execution_id,
                node_id,
                offset=row,
                limit=ITERATION_PAGE,
                status=self._status(),
                output_index=index,
            )
            if generation != self._generation:
                return
            found = next((i for i in page.items if i.index == index), None)
            title = f"{node_id} · iteration {index}"
            if found is None:
                view.clear()
                view.header.setText(f"{title} — no longer recorded")
                return
            fetch = memory_fetcher(found.output) if found.has_output else None
            view.set_source(fetch, title=title, error=found.error)
            await view.settled()
            view.tree.expandToDepth(0)  # one item's output: its first level at a glance

        self.pending = self.bridge.submit(show(), "iteration data")
        return self.pending
