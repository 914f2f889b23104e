"""The engine's read side: an execution's recorded events, outputs and history.

An object the :class:`~main_process.engine.engine.Engine` holds and delegates to,
kept apart because it only reads: from the state manager's memory while an execution
is active in this engine, else from the store (after committing what is queued, so a
reader sees its own writes).
Store reads block, so they run in a thread, never on the event loop. Events are
read through the one event cursor (:mod:`main_process.events.cursor`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.errors import ExecutionNotFoundError
from app.event_page import EventPage, check_event_page
from app.events import Event
from app.output_handles import EXECUTION_OUTPUTS
from app.results import ExecutionResult, ExecutionSummary, OutputPage, check_page
from main_process.engine.execution_state import event_from_row
from main_process.engine.state_manager import StateManager
from main_process.events.cursor import EventCursor
from main_process.events.follow import follow
from main_process.store import Store, history
from main_process.store.history import stored_node_output, stored_outputs, unknown_node
from main_process.streams.pages import stream_page


class Records:
    """Events, node outputs and history of executions (see the module docs).

    ``get_execution`` is the engine's (it also recovers orphans), used to raise
    ExecutionNotFoundError for an unknown id.
    """

    def __init__(
        self,
        store: Store | None,
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
        if node_id == EXECUTION_OUTPUTS:  # the execution's outputs (see app.output_handles)
            value, size = await self._outputs(execution_id)
        elif state is not None:
            node = state.nodes.get(node_id)
            if node is None:
                raise unknown_node(execution_id, node_id)
            value, size = node.output, node.output_size
        elif self.store is None:
            raise unknown_node(execution_id, node_id)
        else:
            await self.store.flush()
            value, size = await asyncio.to_thread(
                stored_node_output, self.store, execution_id, node_id
            )
        page = await stream_page(self.store, execution_id, node_id, value, offset, limit)
        if page is not None:
            return page
        return OutputPage.of(
            execution_id, node_id, value, offset=offset, limit=limit, size_bytes=size
        )

    async def _outputs(self, execution_id: str) -> tuple[Any, int | None]:
        state = self.states.get_active(execution_id)
        if state is not None:
            return state.outputs, None
        if self.store is None:
            await self.get_execution(execution_id)  # raises: only active runs exist
            raise AssertionError("unreachable: get_execution raised")
        await self.store.flush()
        return await asyncio.to_thread(stored_outputs, self.store, execution_id)

    async def execution_blueprint(self, execution_id: str) -> dict[str, Any]:
        """The exact blueprint an execution ran (its ``ui`` too), as recorded with it;
        ExecutionNotFoundError when there is no such execution."""
        state = self.states.get_active(execution_id)
        if state is not None:
            return state.blueprint.model_dump(mode="json", exclude_none=True)
        if self.store is None:
            await self.get_execution(execution_id)  # raises: only active runs exist
            raise AssertionError("unreachable: get_execution raised")
        await self.store.flush()
        data = await asyncio.to_thread(history.recorded_blueprint, self.store, execution_id)
        if data is None:
            raise ExecutionNotFoundError(f"no execution {execution_id!r}", where="execution_id")
        return data

    async def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        if self.store is not None:
            await self.store.flush()
        return await asyncio.to_thread(
            self.states.list_executions, limit=limit, status=status, blueprint_id=blueprint_id
        )

    async def _settle(self, execution_id: str) -> None:
        """Before reading the record of a run not active here: commit what is queued,
        and raise ExecutionNotFoundError when there is no such execution."""
        if self.states.get_active(execution_id) is None:
            if self.store is None:  # nothing is recorded: only active runs exist
                await self.get_execution(execution_id)  # raises when unknown
                return
            await self.store.flush()
            if await asyncio.to_thread(history.last_seq, self.store, execution_id) == 0:
                await self.get_execution(execution_id)  # raises when unknown

    async def cursor(self, execution_id: str, after_seq: int = 0) -> EventCursor:
        """A cursor on the execution's events after ``after_seq``
        (ExecutionNotFoundError when there is no such execution)."""
        await self._settle(execution_id)
        return EventCursor(self.states, self.store, execution_id, after_seq)

    async def recorded_events(
        self, execution_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        """Events recorded so far after ``after_seq`` (at most ``limit``), without waiting
        for more; ExecutionNotFoundError when there is no such execution."""
        cursor = await self.cursor(execution_id, after_seq)
        return [event_from_row(row) for row in await cursor.read(limit)]

    async def event_page(self, execution_id: str, *, after_seq: int, limit: int) -> EventPage:
        """One page of the recorded event log, without waiting for more (time travel)."""
        check_event_page(after_seq, limit)
        live = self.is_active(execution_id)
        events = await self.recorded_events(execution_id, after_seq, limit)
        return EventPage(
            execution_id=execution_id,
            after_seq=after_seq,
            events=events,
            more=len(events) == limit,
            live=live,
        )

    def is_active(self, execution_id: str) -> bool:
        """True while the execution runs (or waits to run) in this engine."""
        return self.states.get_active(execution_id) is not None

    async def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Recorded events after ``after_seq``, then live ones until the execution is
        over. A slow consumer never slows the run: see :mod:`main_process.events.cursor`.
        """
        async for event in follow(await self.cursor(execution_id, after_seq)):
            yield event
