"""The engine's read side: an execution's recorded events, outputs and history.

An object the :class:`~main_process.engine.engine.Engine` holds and delegates to,
kept apart because it only reads: from the state manager's memory while an execution
is active in this engine, else from the store (after committing what is queued, so a
reader sees its own writes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from app.events import Event
from app.results import ExecutionResult, ExecutionSummary, OutputPage, check_page
from main_process.engine.execution_state import EventRow
from main_process.engine.state_manager import StateManager
from main_process.events.follow import follow
from main_process.store import Store
from main_process.store.history import stored_node_output, unknown_node


class Records:
    """Events, node outputs and history of executions (see the module docs).

    ``get_execution`` is the engine's (it also recovers orphans), used to raise
    ExecutionNotFoundError for an unknown id.
    """

    def __init__(
        self,
        store: Store,
        states: StateManager,
        get_execution: Callable[[str], Awaitable[ExecutionResult]],
    ) -> None:
        self.store = store
        self.states = states
        self.get_execution = get_execution

    async def node_output(
        self, execution_id: str, node_id: str, *, offset: int = 0, limit: int = 100
    ) -> OutputPage:
        """One page of a node's output: from memory while the execution is active here,
        else from the store (only that node's outcome is read)."""
        check_page(offset, limit)
        state = self.states.get_active(execution_id)
        if state is not None:
            node = state.nodes.get(node_id)
            if node is None:
                raise unknown_node(execution_id, node_id)
            value, size = node.output, node.output_size
        else:
            await self.store.flush()
            value, size = stored_node_output(self.store, execution_id, node_id)
        return OutputPage.of(
            execution_id, node_id, value, offset=offset, limit=limit, size_bytes=size
        )

    async def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        await self.store.flush()
        return self.states.list_executions(limit=limit, status=status, blueprint_id=blueprint_id)

    async def _settle(self, execution_id: str) -> None:
        """Before reading the record of a run not active here: commit what is queued,
        and raise ExecutionNotFoundError when there is no such execution."""
        if self.states.get_active(execution_id) is None:
            await self.store.flush()
            if self.states.last_seq(execution_id) == 0:
                await self.get_execution(execution_id)  # raises when unknown

    async def recorded_events(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        """Events recorded so far after ``after_seq`` (at most ``limit``), without waiting
        for more; ExecutionNotFoundError when there is no such execution."""
        await self._settle(execution_id)
        return self.states.events_after(execution_id, after_seq, limit)

    async def recorded_event_rows(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[EventRow]:
        """:meth:`recorded_events` as plain rows, for servers that re-encode them anyway."""
        await self._settle(execution_id)
        return self.states.event_rows_after(execution_id, after_seq, limit)

    def watch(self, execution_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` on each new event of an active execution; returns the
        function that stops it (a no-op for executions not active here)."""
        return self.states.watch(execution_id, callback)

    def is_active(self, execution_id: str) -> bool:
        """True while the execution runs (or waits to run) in this engine."""
        return self.states.get_active(execution_id) is not None

    async def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Recorded events after ``after_seq``, then live ones until the terminal event.

        A slow consumer never slows the run: see :mod:`main_process.events.follow`.
        """
        await self._settle(execution_id)
        async for event in follow(self.states, self._page, execution_id, after_seq):
            yield event

    async def _page(self, execution_id: str, after_seq: int, limit: int | None) -> list[Event]:
        return self.states.events_after(execution_id, after_seq, limit)
