"""An execution's outputs, once every node is decided.

The blueprint's ``outputs`` (node ids, templates or literals) when it names any;
else the last node's output (a sequence) or ``{sink_id: output}`` of the sinks
that completed or failed (a DAG). A partial run (``only``/``stop_after``) returns
``{node_id: output}`` of its node: the blueprint's outputs may name nodes it left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.states import NodeStatus
from main_process.engine.graph import ExecutionGraph
from main_process.engine.plan import Plan
from main_process.streams.execution import settled_output

_COMPLETED, _FAILED = NodeStatus.COMPLETED, NodeStatus.FAILED


def execution_outputs(
    plan: Plan,
    graph: ExecutionGraph,
    target: str | None,
    template_context: Callable[[Any], Mapping[str, Any]],
    inputs: Any,
) -> Any:
    """The outputs; a template that fails raises its ConductorError."""
    if target is not None:
        return {target: settled_output(graph.outputs[plan.by_id[target].index])}
    if plan.outputs is None:
        if plan.sequential:
            return settled_output(graph.outputs[-1]) if graph.outputs else None
        return {
            plan.nodes[i].id: settled_output(graph.outputs[i])
            for i in plan.sinks
            if graph.status[i] is _COMPLETED or graph.status[i] is _FAILED
        }
    context = template_context(inputs)
    result: dict[str, Any] = {}
    for name, kind, spec in plan.outputs:
        if kind == "node":
            result[name] = settled_output(graph.outputs[plan.by_id[spec].index])
        elif kind == "template":
            result[name] = spec.render(context)
        else:
            result[name] = spec
    return result
