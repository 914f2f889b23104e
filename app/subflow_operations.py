"""Sub-blueprint and loop reads (see :mod:`app.operations`, whose unions carry them):
an execution's parent and children, and a loop node's iterations."""

from __future__ import annotations

from typing import Literal

from app.operation_base import Operation as _Operation
from app.subflow_results import ExecutionLinks, IterationPage


class ExecutionLinksRequest(_Operation):
    """An execution's parent link, child executions and loop iteration counts."""

    method: Literal["execution_links"] = "execution_links"
    execution_id: str


class ListIterationsRequest(_Operation):
    """A page of a loop node's recorded iterations (``output_index``: also send that
    iteration's output); bounds are checked by the engine."""

    method: Literal["list_iterations"] = "list_iterations"
    execution_id: str
    node_id: str
    offset: int = 0
    limit: int = 100
    status: str | None = None
    output_index: int | None = None


class ExecutionLinksReply(_Operation):
    method: Literal["execution_links"] = "execution_links"
    result: ExecutionLinks


class IterationPageReply(_Operation):
    method: Literal["list_iterations"] = "list_iterations"
    result: IterationPage
