"""The streams of one execution: opened by producing nodes, seen by the driver.

A producing node's run opens its stream here (:meth:`ExecutionStreams.open`) while
it keeps running; the driver takes each opened stream (:meth:`ExecutionStreams.take`)
and tells the graph (:meth:`~main_process.engine.graph.ExecutionGraph.open_stream`),
which decides the producer's outgoing edges at once, so its consumers start while it
produces. A node that ends without reading (skipped) releases its place in every
stream (:meth:`ExecutionStreams.settled`), so no producer waits for it.

Only a plan with stream roles gets one (``NodeEnv.streams``): a plan without them
pays nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.limits import limit
from app.states import NodeStatus
from main_process.streams.channel import Stream
from main_process.streams.ports import PortStreams

if TYPE_CHECKING:
    from main_process.engine.graph import ExecutionGraph
    from main_process.engine.plan import Plan, PlanNode

#: The most items one chunk carries between nodes.
MAX_CHUNK = 1000


def settled_output(value: Any) -> Any:
    """A node's output as templates, records and execution outputs see it: a stream's
    recorded summary once it ended, ``{"stream": {"of": producer, "flowing": true}}``
    while it flows (never the items)."""
    if isinstance(value, Stream | PortStreams):
        return value.summary or {"stream": {"of": value.producer_id, "flowing": True}}
    return value


def settled_input(value: Any) -> Any:
    """A node's input as a debug run records it: streams as :func:`settled_output`
    shows them (alone, or among a join's ``{upstream_id: input}``)."""
    if isinstance(value, dict):
        return {key: settled_output(item) for key, item in value.items()}
    return settled_output(value)


def chunk_size(capacity: int) -> int:
    """Items per chunk for a buffer of ``capacity`` items: half of it (so a producer
    fills one chunk while a consumer works on another), at most :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, capacity // 2))


class ExecutionStreams:
    """Open streams of one execution (see the module docs)."""

    __slots__ = ("_graph", "_opened", "_plan", "_streams", "_wake", "capacity", "chunk")

    def __init__(self, plan: Plan, graph: ExecutionGraph, wake: Callable[[], None]) -> None:
        self._plan = plan
        self._graph = graph
        self._wake = wake
        self._opened: deque[tuple[int, Stream | PortStreams]] = deque()
        self._streams: list[Stream] = []
        #: Items a stream buffers between a producer and its slowest consumer.
        self.capacity = limit("stream_buffer_items")
        self.chunk = chunk_size(self.capacity)

    def open(self, node: PlanNode, *, ports: bool = False) -> Stream | PortStreams | None:
        """Open ``node``'s stream for its pending consumers; None when it has none (its
        items are only recorded). ``ports``: a branch node's streams, one per port."""
        by_port: dict[str | None, list[str]] = {}
        for target, port in node.downstream:
            for consumer in self._readers_behind(target):
                by_port.setdefault(port if ports else None, []).append(consumer)
        if not by_port:
            return None
        streams = {
            port: Stream(node.id, dict.fromkeys(ids), self.capacity)
            for port, ids in by_port.items()
        }
        self._streams.extend(streams.values())
        opened: Stream | PortStreams = PortStreams(node.id, streams) if ports else streams[None]
        self._opened.append((node.index, opened))
        self._wake()
        return opened

    def _readers_behind(self, target: int) -> list[str]:
        """The pending node ids that will read through an edge to ``target``: itself, or
        for a disabled node (which passes the stream on) the readers behind it."""
        graph, nodes = self._graph, self._plan.nodes
        if graph.status[target] is not NodeStatus.PENDING:
            return []
        node = nodes[target]
        if not node.spec.disabled:
            return [node.id]
        return [c for after, _port in node.downstream for c in self._readers_behind(after)]

    @property
    def pending(self) -> bool:
        """Whether a stream opened that the driver has not taken yet."""
        return bool(self._opened)

    def take(self) -> list[tuple[int, Stream | PortStreams]]:
        """The streams opened since the last call, for the graph."""
        taken = list(self._opened)
        self._opened.clear()
        return taken

    def settled(self, node_id: str) -> None:
        """``node_id`` will read no stream (it was skipped or ended)."""
        for stream in self._streams:
            stream.release(node_id)
