"""The ``catch`` node: where failures of the nodes in its scope go.

The engine's execution graph does the work (see :mod:`main_process.engine.graph`):
a failure of a node in a catch's scope does not end the execution; once every
node in the scope has finished, the catch runs if one of them failed, with
``{"node_id", "error", "failures"}`` as its input (the first failure in blueprint
order, and every failure), and is skipped otherwise. The node itself passes that
record on, so downstream nodes read ``{{ input.error.message }}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from main_process.nodes.base import NodeContext, NodeType


class CatchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Catch")

    nodes: list[str] | None = Field(
        default=None,
        description=(
            "Ids of the nodes whose failures this catch receives. Empty: every node upstream of it."
        ),
    )


def run_catch(params: CatchParams, input: Any, ctx: NodeContext) -> Any:
    """Receive failures of the nodes in scope and let the blueprint go on."""
    return input


CATCH_TYPES: list[NodeType] = [
    NodeType("catch", "Catch", "Flow", CatchParams, run_catch, runs_code=False),
]
