"""``nodes.<id>`` as node templates see it: a read-only view over the execution graph."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from main_process.engine.execution_state import ExecutionState
from main_process.engine.graph import ExecutionGraph
from main_process.engine.plan import Plan
from main_process.streams.execution import settled_output


class NodesView(Mapping[str, dict[str, Any]]):
    """``nodes.<id>`` in templates: output and port of each node so far (from the
    graph), and its recorded status (so ``retrying`` shows too)."""

    __slots__ = ("_graph", "_plan", "_state")

    def __init__(self, plan: Plan, graph: ExecutionGraph, state: ExecutionState) -> None:
        self._plan = plan
        self._graph = graph
        self._state = state

    def __getitem__(self, node_id: str) -> dict[str, Any]:
        i = self._plan.by_id[node_id].index
        return {
            "output": settled_output(self._graph.outputs[i]),
            "status": self._state.nodes[node_id].status.value,
            "port": self._graph.ports[i],
        }

    def __iter__(self) -> Iterator[str]:
        return iter(self._plan.by_id)

    def __len__(self) -> int:
        return len(self._plan.nodes)
