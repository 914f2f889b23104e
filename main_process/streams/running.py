"""Running a node of a plan with streams: produce, map per item, collect, or refuse.

:func:`run_stream_node` stands in for one attempt's call
(:meth:`~main_process.engine.node_running.NodeRunner.invoke`) when the plan has
stream roles, by the node's declared role (:mod:`app.stream_roles`):

* ``produces``: the node's call returns a generator (or async generator, or another
  iterable); it is pumped into the node's stream a chunk at a time while the node
  stays ``running``; the node completes with the stream's summary once the source
  ends (:mod:`main_process.streams.recording`).
* ``per_item`` fed a stream: the node's work is applied to each item and the results
  are its own stream (pumped the same way; on ``runner: dask`` each chunk is mapped
  on the cluster, :mod:`main_process.streams.remote`); fed a list, to each item of it;
  fed anything else, the node runs on the whole value as before.
* ``collects``: streams in its input become readers (an async iterator of chunks,
  :mod:`main_process.streams.items`); a type with ``combine`` runs once per chunk.
* ``whole`` fed a stream: a StreamError naming both nodes (validation reports the
  same before a run; this catches what it could not see).

Whatever happens, a node's readers are released when it ends, and a producer's
source is closed (its generator's ``finally`` runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.blueprint import Runner
from app.stream_roles import StreamRole
from main_process.engine.node_context import NodeRunContext
from main_process.nodes.base import PortOutput
from main_process.streams.channel import Reader, Stream, StreamError
from main_process.streams.ports import PortStreams
from main_process.streams.recording import StreamRecord, is_stream_summary
from main_process.streams.remote import dask_mapper
from main_process.streams.replay import ReplaySource, replay_source
from main_process.streams.sources import (
    ChunkMapper,
    ChunkSource,
    MappedSource,
    chunk_mapper,
    source_of,
)

if TYPE_CHECKING:
    from main_process.engine.node_running import NodeRunner
    from main_process.engine.plan import PlanNode

#: What a producing node's output is while it streams.
_STREAMS = (Stream, PortStreams)

#: Seconds between a streaming node's progress notes (a ``log`` event with ``items``).
PROGRESS_S = 2.0

_PRODUCES, _PER_ITEM, _COLLECTS = StreamRole.PRODUCES, StreamRole.PER_ITEM, StreamRole.COLLECTS


async def run_stream_node(
    runner: NodeRunner, node: PlanNode, value: Any, upstream: dict[str, Any], attempt: int
) -> Any:
    """One attempt of ``node`` in a plan with streams (see the module docs)."""
    role = node.stream_role
    if role is _PRODUCES:
        replay = replay_source(runner, node)
        if replay is not None:  # fully recorded earlier: the same items again
            return await pump(runner, node, replay)
        result = await runner.invoke(node, value, upstream, attempt)
        return await pump(runner, node, source_of(result, _pool(runner, node)))
    _recorded_only(node, upstream)
    if role is _PER_ITEM:
        if isinstance(value, _STREAMS):
            reader = value.reader(node.id)
            try:
                mapper = (
                    await dask_mapper(runner, node, upstream, attempt)
                    if node.runner is Runner.DASK
                    else _mapper(runner, node, upstream, attempt)
                )
                return await pump(runner, node, MappedSource(reader, mapper))
            finally:
                reader.close()
        _refuse(node, value, "works on one stream at a time")
        if isinstance(value, list) and not _branches(node) and not _remote(node):
            # a branch routes whole values; a worker or the cluster maps the list itself
            return await _mapper(runner, node, upstream, attempt)(value, 0)
        return await runner.invoke(node, value, upstream, attempt)
    if role is _COLLECTS:
        readers = _readers(node, value)
        try:
            node_type = node.node_type
            combine = node_type.combine if node_type is not None else None
            if (
                node_type is not None
                and node_type.consume is not None
                and isinstance(readers, Reader)
            ):
                params = (
                    node.params if node.params is not None else await runner._params(node, None)
                )
                ctx = NodeRunContext(runner.env, node.id, attempt, upstream, node.timeout)
                return await node_type.consume(params, readers, ctx)
            if combine is not None and isinstance(readers, Reader):
                return await _per_chunk(runner, node, readers, upstream, attempt, combine)
            return await runner.invoke(node, readers, upstream, attempt)
        finally:
            _close(readers)
    _refuse(node, value, "needs a whole value")
    return await runner.invoke(node, value, upstream, attempt)


async def pump(runner: NodeRunner, node: PlanNode, source: ChunkSource) -> dict[str, Any]:
    """Move ``source``'s chunks into the node's stream until it ends; the node's summary.

    Opens the stream (its consumers start now); waits for room before each pull
    (back-pressure); stops early when every consumer has left; on any error or
    cancel the consumers' next read fails; the source is closed in every case.
    """
    env = runner.env
    streams = env.streams
    full = node.spec.record == "full"
    replaying = isinstance(source, ReplaySource)
    record = StreamRecord(_chunk_sink(runner, node) if full and not replaying else None)
    ports = _branches(node)
    stream = streams.open(node, ports=ports)
    size = streams.chunk
    stopped = False
    next_note = time.monotonic() + PROGRESS_S
    try:
        while True:
            if stream is not None and not await stream.wait_space(size):
                stopped = True
                break
            chunk = await source.next(size)
            if chunk is None:
                if stream is not None:
                    stream.put([], size)
                break
            record.add(
                [r.value if isinstance(r, PortOutput) else r for r in chunk] if ports else chunk
            )
            if stream is not None:
                stream.put(chunk, size)
            if time.monotonic() >= next_note:  # a few progress notes, never items
                next_note = time.monotonic() + PROGRESS_S
                env.states.log_message(
                    runner.execution_id,
                    node.id,
                    f"{record.items:,} items so far",
                    "debug",
                    items=record.items,
                )
    except BaseException as exc:
        if stream is not None:
            reason = "was cancelled" if not isinstance(exc, Exception) else f"failed: {exc}"
            stream.fail(f"the stream of node {node.id!r} {reason}")
        raise
    finally:
        await source.close()
    summary = (
        source.summary
        if isinstance(source, ReplaySource)
        else record.summary(full=full, stopped=stopped)
    )
    if stream is not None:
        stream.summary = summary
        stream.end()
    return summary


def _branches(node: PlanNode) -> bool:
    """Whether the node has named output ports (``if``, ``switch``)."""
    node_type = node.node_type
    return node_type is not None and bool(node_type.ports or node_type.port_names)


def _remote(node: PlanNode) -> bool:
    """Whether the node runs in a worker process or on the Dask cluster."""
    return node.runner in (Runner.PROCESS, Runner.DASK)


def _pool(runner: NodeRunner, node: PlanNode) -> Any:
    """The node threads for plain code, unless the node asks to run inline."""
    return None if node.spec.runner is Runner.INLINE else runner.env.thread_pool


def _mapper(
    runner: NodeRunner, node: PlanNode, upstream: dict[str, Any], attempt: int
) -> ChunkMapper:
    """What a per-item node does to each item of a chunk."""
    ctx = NodeRunContext(runner.env, node.id, attempt, upstream, node.timeout)
    fn = node.function
    if fn is not None:
        call: Callable[[Any], Any] = (lambda item: fn(item, ctx)) if node.takes_context else fn
        if node.is_async:
            return chunk_mapper(_awaiting(call), None)
        return chunk_mapper(call, _pool(runner, node))
    node_type = node.node_type
    assert node_type is not None
    if node_type.item_function is not None and node.params is not None:
        return chunk_mapper(node_type.item_function(node.params, ctx), _pool(runner, node))

    async def each(item: Any) -> Any:  # params rendered per item (``{{ input }}`` is it)
        return await runner.invoke(node, item, upstream, attempt)

    return chunk_mapper(each, None)


def _awaiting(call: Callable[[Any], Any]) -> Callable[[Any], Any]:
    async def awaited(item: Any) -> Any:
        return await call(item)

    return awaited


def _chunk_sink(
    runner: NodeRunner, node: PlanNode
) -> Callable[[int, int, int, bytes], None] | None:
    """Where a ``record: full`` node's chunks go: the store (None without one)."""
    store = runner.env.states.store
    if store is None:
        return None
    eid = runner.execution_id

    def sink(seq: int, first_item: int, items: int, data: bytes) -> None:
        store.enqueue_stream_chunk(eid, node.id, seq, first_item, items, data)

    return sink


async def _per_chunk(
    runner: NodeRunner,
    node: PlanNode,
    reader: Reader,
    upstream: dict[str, Any],
    attempt: int,
    combine: Callable[[Any, Any], Any],
) -> Any:
    """A collecting type run once per chunk (``sqlite.write``), its outputs folded."""
    result: Any = None
    first = True
    async for chunk in reader:
        out = await runner.invoke(node, chunk, upstream, attempt)
        result, first = (out if first else combine(result, out)), False
    if first:  # an empty stream: one run on no items
        result = await runner.invoke(node, [], upstream, attempt)
    return result


def _readers(node: PlanNode, value: Any) -> Any:
    """The input with each stream replaced by this node's reader of it."""
    if isinstance(value, _STREAMS):
        return value.reader(node.id)
    if isinstance(value, dict) and any(isinstance(v, _STREAMS) for v in value.values()):
        return {k: v.reader(node.id) if isinstance(v, _STREAMS) else v for k, v in value.items()}
    return value


def _close(value: Any) -> None:
    if isinstance(value, Reader):
        value.close()
    elif isinstance(value, dict):
        for item in value.values():
            if isinstance(item, Reader):
                item.close()


def _recorded_only(node: PlanNode, upstream: dict[str, Any]) -> None:
    """A StreamError when an upstream's stream is lent as its recorded summary (a run of
    this node alone, ``only``): the items themselves are not there to read."""
    for upstream_id, output in upstream.items():
        if is_stream_summary(output):
            raise StreamError(
                f"node {upstream_id!r} streams its items, and only their summary was "
                f"recorded: run it too (start at {upstream_id!r}, not only {node.id!r})",
                where=node.where,
            )


def _refuse(node: PlanNode, value: Any, why: str) -> None:
    """A StreamError naming both nodes when a stream reaches a node that cannot take it."""
    streams: list[Stream | PortStreams] = [value] if isinstance(value, _STREAMS) else []
    if isinstance(value, dict):
        streams = [v for v in value.values() if isinstance(v, _STREAMS)]
    if streams:
        producer = streams[0].producer_id
        for stream in streams:
            stream.release(node.id)
        raise StreamError(
            f"node {producer!r} outputs a stream of items, but node {node.id!r} {why}: "
            "put a collect (or sum, count, reduce) node between them",
            where=node.where,
        )
