"""The unified API's reads of sub-blueprints and loops: ``conductor.subflows``.

Kept beside :class:`app.api.Conductor` (which holds one and hands it its ``_ask``): the
same requests on every transport, answered by :mod:`main_process.engine.subflows`.
"""

from __future__ import annotations

from app.operation_base import Ask
from app.subflow_operations import (
    ExecutionLinksReply,
    ExecutionLinksRequest,
    IterationPageReply,
    ListIterationsRequest,
)
from app.subflow_results import ExecutionLinks, IterationPage


class SubflowReads:
    """Child executions, parent links and loop iterations of executions."""

    def __init__(self, ask: Ask) -> None:
        self._ask = ask

    async def execution_links(self, execution_id: str) -> ExecutionLinks:
        """Where an execution sits among sub-blueprints: its parent (execution and
        ``blueprint.call`` node), its child executions, and its loop nodes'
        iteration counts (completed / failed)."""
        request = ExecutionLinksRequest(execution_id=execution_id)
        reply: ExecutionLinksReply = await self._ask(request, ExecutionLinksReply)
        return reply.result

    async def list_iterations(
        self,
        execution_id: str,
        node_id: str,
        *,
        offset: int = 0,
        limit: int = 100,
        status: str | None = None,
        output_index: int | None = None,
    ) -> IterationPage:
        """A page of a loop node's recorded iterations (index, status, error), in index
        order; ``output_index`` also sends that one iteration's output."""
        request = ListIterationsRequest(
            execution_id=execution_id,
            node_id=node_id,
            offset=offset,
            limit=limit,
            status=status,
            output_index=output_index,
        )
        reply: IterationPageReply = await self._ask(request, IterationPageReply)
        return reply.result
