"""A node's data in the monitor's Data tab: its output by page, its error, its input.

* **Output by page**: paged through ``node_output`` — never the whole value over the
  pipe.
* **Error**: as the events recorded it.
* **Debug input**: for a run started with ``debug_mode`` the Data tab also shows a
  node's recorded input, read with one ``get_execution`` (kept for the finished
  execution shown) — and only when the node's output is small
  (:data:`DEBUG_INPUT_LIMIT`), since that call ships every node's data at once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from app.errors import ErrorInfo
from app.results import ExecutionResult, OutputPage

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

#: A debug run's node input is shown only when the node's output is under this size.
DEBUG_INPUT_LIMIT = 256 * 1024


class NodeData:
    """Shows one node's data of one execution in the window's monitor."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.bridge = window.bridge
        #: Executions that record node inputs (started with ``debug_mode``).
        self.debug: set[str] = set()
        #: The last finished execution read whole for its inputs: (id, result).
        self._detail: tuple[str, ExecutionResult] | None = None
        #: Bumped per data request, so a slow input fetch never shows a stale node.
        self._request = 0

    def show(self, execution_id: str, node_id: str) -> asyncio.Future[None]:
        """Show a node's output, error and (debug runs) input; see the module docs."""
        conductor = self.bridge.conductor
        view = self.bridge.model.execution(execution_id)
        row = view.nodes.get(node_id) if view is not None else None
        error = ErrorInfo(**row.error_info) if row is not None and row.error_info else None
        small = row is not None and (row.output_size or 0) < DEBUG_INPUT_LIMIT
        wants_input = execution_id in self.debug and small
        self._request += 1
        request = self._request

        async def fetch(offset: int, limit: int) -> OutputPage:
            return await conductor.node_output(execution_id, node_id, offset=offset, limit=limit)

        async def show() -> None:
            if wants_input:
                input_value = await self._node_input(execution_id, node_id)
                if request != self._request:  # overtaken by another selection
                    return
                self.window.monitor.show_node(node_id, fetch, error, input_value)
            await self.window.monitor.data_view.settled()

        if not wants_input:
            self.window.monitor.show_node(node_id, fetch, error)
        return self.bridge.submit(show(), "node data")

    async def _node_input(self, execution_id: str, node_id: str) -> Any:
        detail = self._detail
        if detail is None or detail[0] != execution_id:
            result = await self.bridge.conductor.get_execution(execution_id)
            if result.finished_at is not None:  # a running one still changes: not kept
                self._detail = (execution_id, result)
        else:
            result = detail[1]
        node = result.nodes.get(node_id)
        return node.input if node is not None else None
