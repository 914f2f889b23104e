"""A per-item branch node's output: one stream per output port.

``if`` / ``switch`` with ``per_item: true`` fed a stream send each item out of the
port its condition picks; every port's consumers get a stream (possibly empty), so
in stream mode nothing downstream is skipped. The node waits for room in every
port's buffer before it takes the next chunk, so the bound holds per port; items
sent to a port no consumer reads are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from main_process.nodes.base import PortOutput
from main_process.streams.channel import Reader, Stream, StreamError


class PortStreams:
    """The streams of one branch node, by port (see the module docs)."""

    __slots__ = ("_by_consumer", "by_port", "producer_id", "summary")

    def __init__(self, producer_id: str, by_port: dict[str | None, Stream]) -> None:
        self.producer_id = producer_id
        self.by_port = by_port
        #: The node's recorded summary, once its streams ended.
        self.summary: Any = None
        self._by_consumer: dict[str, Stream] = {}
        for stream in by_port.values():
            for consumer in stream.consumer_ids:
                self._by_consumer.setdefault(consumer, stream)

    @property
    def streams(self) -> Iterable[Stream]:
        return self.by_port.values()

    def reader(self, consumer: str) -> Reader:
        stream = self._by_consumer.get(consumer)
        if stream is None:
            raise StreamError(
                f"node {consumer!r} is not a consumer of the streams of {self.producer_id!r}"
            )
        return stream.reader(consumer)

    def release(self, consumer: str) -> None:
        for stream in self.by_port.values():
            stream.release(consumer)

    async def wait_space(self, items: int) -> bool:
        """Room for ``items`` in every port's buffer; False once no port has a consumer."""
        alive = False
        for stream in self.by_port.values():
            alive = await stream.wait_space(items) or alive
        return alive

    def put(self, chunk: list[Any], reserved: int) -> None:
        """Route a chunk of branch results (:class:`PortOutput`) to their ports."""
        routed: dict[str | None, list[Any]] = {}
        for result in chunk:
            if isinstance(result, PortOutput):
                routed.setdefault(result.port, []).append(result.value)
            else:
                routed.setdefault(None, []).append(result)
        for port, stream in self.by_port.items():
            stream.put(routed.get(port, []), reserved)

    def end(self) -> None:
        for stream in self.by_port.values():
            stream.end()

    def fail(self, message: str) -> None:
        for stream in self.by_port.values():
            stream.fail(message)
