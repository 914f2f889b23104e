"""A per-item ``python.function`` on ``runner: dask`` fed a stream: chunks mapped on
the cluster.

Each chunk read from the upstream stream (already at most
:data:`~main_process.streams.execution.MAX_CHUNK` items) becomes one
:meth:`~main_process.runners.dask_runner.DaskCluster.map`: batched tasks calling the
function by import name with the items as JSON, results in order. Back-pressure is
:class:`~main_process.streams.sources.MappedSource`'s: the next chunk is read only
once this one's results are handed on, so one chunk's tasks at most are on the
cluster; an item that raises fails the node naming its index in the whole stream;
cancelling the node cancels the chunk's futures (the map's own handling).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.errors import NodeFailedError
from main_process.engine.node_context import NodeRunContext
from main_process.runners.dask_runner import DaskUnavailableError, per_item_function
from main_process.streams.sources import ChunkMapper

if TYPE_CHECKING:
    from main_process.engine.node_running import NodeRunner
    from main_process.engine.plan import PlanNode


async def dask_mapper(
    runner: NodeRunner, node: PlanNode, upstream: dict[str, Any], attempt: int
) -> ChunkMapper:
    """What the node does to each chunk: map it on the engine's Dask cluster."""
    cluster = runner.env.dask
    if cluster is None:
        raise DaskUnavailableError("runner dask: no Dask scheduler", node_id=node.id)
    params = node.params if node.params is not None else await runner._params(node, None)
    function = per_item_function(params)
    if function is None:  # validation lets only a per-item python.function through
        raise NodeFailedError(
            f"node {node.id!r}: runner dask takes a stream only into a python.function "
            "with per_item: true",
            node_id=node.id,
        )
    base_dir = str(NodeRunContext(runner.env, node.id, attempt, upstream, node.timeout).base_dir)

    async def each(chunk: list[Any], start: int) -> list[Any]:
        return await cluster.map(function, chunk, base_dir=base_dir, first_index=start)

    return each
