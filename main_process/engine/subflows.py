"""Child runs: ``blueprint.call`` child executions, and the reads of links and loops.

A ``blueprint.call`` node starts its child through :meth:`Engine.start` with
``parent=(execution, node)``: the child is a full execution (recorded, resumable,
followable), its row names its parent, and it runs under its parent's execution
slot (it takes none of its own, so a parent at the engine's ``max_executions`` never
waits for a slot its own child would need). The node's record names the child (a
log line with ``child_execution_id``).

Resume as a unit: when a resumed parent re-runs a call node, the node finds the
child it started before (by parent execution and node) and resumes that same
execution, which re-runs only its unfinished nodes; a completed child's outputs are
used as they are. Cancel: a parent cancelled while its node waits cancels the child
with the parent's reason (a shutdown leaves both ``interrupted``, resumable).
``wait: false`` children are detached: they run on and are not cancelled with it.

Recursion: a child whose blueprint already runs above it, or nesting deeper than
the ``subflow_depth`` limit, fails the node with :class:`SubflowRecursionError`
(the library-visible cases are validation problems first, see
:mod:`main_process.engine.subflow_checks`). Loops are in :mod:`main_process.engine.loops`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from app.errors import ConfigError, ExecutionNotFoundError
from app.limits import limit
from app.states import ExecutionStatus, NodeStatus
from app.subflow_errors import ChildExecutionError, SubflowRecursionError
from app.subflow_results import (
    ChildExecution,
    ExecutionLinks,
    Iteration,
    IterationCounts,
    IterationPage,
)
from main_process.engine.endings import CancelReason
from main_process.engine.node_context import node_env
from main_process.store import subflows as rows

if TYPE_CHECKING:
    from main_process.engine.engine import Engine
    from main_process.nodes.base import NodeContext
    from main_process.nodes.subflow import LoopParams

#: Most iterations one page of ``list_iterations`` holds.
MAX_ITERATION_PAGE = 10_000


class Subflows:
    """What ``blueprint.call`` and ``loop`` nodes start child runs through."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        #: Child execution → (parent execution, parent's blueprint id), while known
        #: here (an engine without a store has no rows to walk).
        self._parents: dict[str, tuple[str, str]] = {}

    # -- blueprint.call --------------------------------------------------------------

    async def call(
        self, ctx: NodeContext, blueprint_id: str, inputs: dict[str, Any], *, wait: bool
    ) -> Any:
        engine, env = self._engine, node_env(ctx)
        parent_id, node_id = ctx.execution_id, ctx.node_id
        child_id = None
        if engine.store is not None and env.resumed:
            child_id = await asyncio.to_thread(rows.child_for, engine.store, parent_id, node_id)
        if child_id is None:
            await self.check_nesting(ctx, blueprint_id, env.state.blueprint.id)
            child_id = await engine.start(
                blueprint_id=blueprint_id, inputs=inputs, parent=(parent_id, node_id)
            )
            self._parents[child_id] = (parent_id, env.state.blueprint.id)
        else:
            await self._continue(child_id)
        ctx.log(f"child execution {child_id}", child_execution_id=child_id)
        if not wait:
            return {"execution_id": child_id}
        try:
            result = await engine.wait(child_id)
        except asyncio.CancelledError:
            driver = engine.runs.get(child_id)
            if driver is not None:
                parent = engine.runs.get(parent_id)
                reason = None if parent is None else parent.reason
                driver.cancel(reason or CancelReason.USER)
            raise
        finally:
            self._parents.pop(child_id, None)
        if result.status is ExecutionStatus.COMPLETED:
            return result.outputs
        error = result.error
        why = f": {error.message}" if error is not None else ""
        raise ChildExecutionError(
            f"child execution {child_id} ({blueprint_id}) ended {result.status.value}{why}",
            node_id=node_id,
        )

    async def _continue(self, child_id: str) -> None:
        """Resume the child a resumed parent started before (unless it completed or
        runs here already)."""
        engine = self._engine
        if engine.runs.get(child_id) is not None:
            return
        state = await engine.get_execution(child_id)
        if state.status is not ExecutionStatus.COMPLETED:
            await engine.resume(child_id, wait=False, child=True)

    async def lineage(self, execution_id: str, blueprint_id: str) -> list[str]:
        """Blueprint ids from this execution up to its root, nearest first."""
        found = [blueprint_id]
        current = execution_id
        depth = limit("subflow_depth") + 1
        while current in self._parents and len(found) <= depth:
            current, above = self._parents[current]
            found.append(above)
        store = self._engine.store
        if store is not None and len(found) <= depth:
            found += await asyncio.to_thread(rows.ancestors, store, current, depth)
        return found

    async def check_nesting(self, ctx: NodeContext, target: str, blueprint_id: str) -> None:
        """Refuse a child run whose blueprint already runs above, or nests too deep."""
        chain = await self.lineage(ctx.execution_id, blueprint_id)
        if target in chain:
            path = " → ".join([*reversed(chain), target])
            raise SubflowRecursionError(
                f"blueprint {target!r} already runs above this node (recursion: {path})",
                node_id=ctx.node_id,
            )
        depth = limit("subflow_depth")
        if len(chain) > depth:
            raise SubflowRecursionError(
                f"sub-blueprints nest deeper than the limit of {depth} (--max-subflow-depth)",
                node_id=ctx.node_id,
            )

    # -- loop ------------------------------------------------------------------------

    async def loop(self, ctx: NodeContext, params: LoopParams) -> Any:
        from main_process.engine.loops import run_loop

        env = node_env(ctx)
        await self.check_nesting(ctx, params.body, env.state.blueprint.id)
        return await run_loop(self._engine, ctx, params)

    # -- reads -----------------------------------------------------------------------

    async def links(self, execution_id: str) -> ExecutionLinks:
        """An execution's parent link, children and loop iteration counts."""
        engine = self._engine
        await engine.get_execution(execution_id)  # raises when unknown
        store = engine.store
        if store is None:
            return ExecutionLinks(execution_id=execution_id)
        await store.flush()
        parent, kids, counts = await asyncio.to_thread(_read_links, store, execution_id)
        return ExecutionLinks(
            execution_id=execution_id,
            parent_execution_id=None if parent is None else parent[0],
            parent_node_id=None if parent is None else parent[1],
            children=[
                ChildExecution(
                    execution_id=row.execution_id,
                    parent_node_id=row.parent_node_id,
                    blueprint_id=row.blueprint_id,
                    status=_live_status(engine, row.execution_id, row.status),
                    created_at=row.created_at,
                    finished_at=row.finished_at,
                )
                for row in kids
            ],
            loops={node: _counts(c) for node, c in counts.items()},
        )

    async def iterations(
        self,
        execution_id: str,
        node_id: str,
        *,
        offset: int = 0,
        limit: int = 100,
        status: str | None = None,
        output_index: int | None = None,
    ) -> IterationPage:
        """A page of a loop node's recorded iterations, in index order."""
        if offset < 0 or not 1 <= limit <= MAX_ITERATION_PAGE:
            raise ConfigError(
                f"offset must be >= 0 and limit 1..{MAX_ITERATION_PAGE}", where="limit"
            )
        if status is not None and status not in (NodeStatus.COMPLETED, NodeStatus.FAILED):
            raise ConfigError("status is completed or failed", where="status")
        result = await self._engine.get_execution(execution_id)
        if node_id not in result.nodes:
            raise ExecutionNotFoundError(
                f"execution {execution_id!r} has no node {node_id!r}", where="node_id"
            )
        store = self._engine.store
        if store is None:
            return IterationPage(
                execution_id=execution_id,
                node_id=node_id,
                offset=offset,
                counts=IterationCounts(),
                items=[],
            )
        counts = await asyncio.to_thread(rows.iteration_counts, store, execution_id, node_id)
        page = await asyncio.to_thread(
            rows.iteration_page,
            store,
            execution_id,
            node_id,
            offset=offset,
            limit=limit,
            status=status,
            with_output=output_index,
        )
        return IterationPage(
            execution_id=execution_id,
            node_id=node_id,
            offset=offset,
            counts=_counts(counts.get(node_id, {})),
            items=[
                Iteration(
                    index=index,
                    status=NodeStatus(st),
                    error=error,
                    output=output,
                    finished_at=at,
                    has_output=has,
                )
                for index, st, error, output, at, has in page
            ],
        )


def _read_links(
    store: Any, execution_id: str
) -> tuple[tuple[str, str] | None, list[rows.ChildRow], dict[str, dict[str, int]]]:
    return (
        rows.parent_of(store, execution_id),
        rows.children(store, execution_id),
        rows.iteration_counts(store, execution_id, None),
    )


def _counts(by_status: dict[str, int]) -> IterationCounts:
    return IterationCounts(
        completed=by_status.get(NodeStatus.COMPLETED, 0), failed=by_status.get(NodeStatus.FAILED, 0)
    )


def _live_status(engine: Engine, execution_id: str, recorded: str) -> ExecutionStatus:
    state = engine.states.get_active(execution_id)
    return state.status if state is not None else ExecutionStatus(recorded)
