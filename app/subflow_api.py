"""The unified API's reads of sub-blueprints and loops: ``conductor.subflows``.

Kept beside :class:`app.api.Conductor` (which holds one) rather than inside it: the
same requests on every transport, answered by :mod:`main_process.engine.subflows`.
"""

from __future__ import annotations

from typing import TypeVar

from app.errors import TransportError
from app.operations import (
    AnyReply,
    AnyRequest,
)
from app.subflow_operations import (
    ExecutionLinksReply,
    ExecutionLinksRequest,
    IterationPageReply,
    ListIterationsRequest,
)
from app.subflow_results import ExecutionLinks, IterationPage
from app.transport import Transport

R = TypeVar("R", bound=AnyReply)


class SubflowReads:
    """Child executions, parent links and loop iterations of executions."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def _ask(self, request: AnyRequest, reply_type: type[R]) -> R:
        reply = await self.transport.handle(request)
        if not isinstance(reply, reply_type):
            raise TransportError(
                f"expected a {reply_type.__name__} to a {request.method} request, "
                f"got a {type(reply).__name__}"
            )
        return reply

    async def execution_links(self, execution_id: str) -> ExecutionLinks:
        """Where an execution sits among sub-blueprints: its parent (execution and
        ``blueprint.call`` node), its child executions, and its loop nodes'
        iteration counts (completed / failed)."""
        request = ExecutionLinksRequest(execution_id=execution_id)
        return (await self._ask(request, ExecutionLinksReply)).result

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
        return (await self._ask(request, IterationPageReply)).result
