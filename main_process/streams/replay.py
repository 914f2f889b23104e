"""Resume of a fully recorded stream: its recorded chunks flow again, its code does not.

A streaming node with ``record: full`` that completed in an earlier run of the
execution kept every chunk in the store. When resume runs it again (a node it feeds
runs again, :mod:`main_process.streams.resuming`), :func:`replay_source` hands the
pump those chunks in order instead of calling the node: the generator is not run a
second time, and the items are the same ones. Anything else re-runs from the start.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from main_process.store import Store, history
from main_process.streams.recording import is_stream_summary

if TYPE_CHECKING:
    from main_process.engine.node_running import NodeRunner
    from main_process.engine.plan import PlanNode


class ReplaySource:
    """The recorded chunks of one node's stream, read one at a time."""

    __slots__ = ("_execution_id", "_node_id", "_seq", "_store", "summary")

    def __init__(self, store: Store, execution_id: str, node_id: str, summary: Any) -> None:
        self._store = store
        self._execution_id = execution_id
        self._node_id = node_id
        self._seq = 0
        #: The summary recorded when the stream first flowed (it is the same stream).
        self.summary = summary

    async def next(self, size: int) -> list[Any] | None:
        chunk = await asyncio.to_thread(
            history.stream_chunk, self._store, self._execution_id, self._node_id, self._seq
        )
        self._seq += 1
        return chunk

    async def close(self) -> None:
        return None


def replay_source(runner: NodeRunner, node: PlanNode) -> ReplaySource | None:
    """The recorded chunks of ``node``'s stream when an earlier run recorded all of them."""
    store = runner.env.states.store
    recorded = runner.env.state.nodes.get(node.id)
    if store is None or recorded is None or node.spec.record != "full":
        return None
    prior = recorded.output
    if not is_stream_summary(prior):
        return None
    summary = prior["stream"]
    if summary.get("record") != "full" or summary.get("stopped"):
        return None
    return ReplaySource(store, runner.execution_id, node.id, prior)
