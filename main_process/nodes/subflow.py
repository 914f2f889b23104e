"""Sub-blueprint nodes: ``blueprint.call`` and ``loop`` (issue 13).

Both run other blueprints of the library, so they need the engine: they reach it
through their context's environment (``subflows``, see
:mod:`main_process.engine.subflows`). They run inline and hold no slot of the
engine-wide node limit while they wait (their children's nodes take those), so a
parent never starves its own child at the limit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.errors import NodeFailedError
from main_process.nodes.base import NodeContext, NodeType


class OnItemError(StrEnum):
    """What a loop does when an iteration fails."""

    FAIL = "fail"
    CONTINUE = "continue"
    COLLECT = "collect"


class CallParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Call blueprint")

    blueprint_id: str = Field(description="The library blueprint to run as a child execution.")
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="The child's inputs; templates inside are rendered, e.g. {{ input.id }}.",
    )
    wait: bool = Field(
        default=True,
        description=(
            "Wait for the child and output its outputs; false: output the child's"
            " execution id at once while the child runs on."
        ),
    )


class LoopParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Loop")

    items: Any = Field(description="Template giving the list to loop over, e.g. {{ input }}.")
    body: str = Field(
        description="Library blueprint run once per item; it sees {{ item }} and {{ index }}."
    )
    concurrency: int = Field(
        default=1, ge=1, description="Iterations at once (bounded by --max-loop-concurrency)."
    )
    on_item_error: OnItemError = Field(
        default=OnItemError.FAIL,
        description=(
            "fail: the loop fails; continue: a failed item's result is null; collect:"
            " output {results, errors}."
        ),
    )


def _subflows(ctx: NodeContext) -> Any:
    env = getattr(ctx, "env", None)
    subflows = None if env is None else env.subflows
    if subflows is None:
        raise NodeFailedError(
            "child runs are not available here (a loop body or a detached run cannot start them)",
            node_id=ctx.node_id,
        )
    return subflows


async def run_call(params: CallParams, input: Any, ctx: NodeContext) -> Any:
    """Run another blueprint as a child execution and output its outputs."""
    return await _subflows(ctx).call(ctx, params.blueprint_id, params.inputs, wait=params.wait)


async def run_loop(params: LoopParams, input: Any, ctx: NodeContext) -> Any:
    """Run a body blueprint once per item; output the results in item order."""
    return await _subflows(ctx).loop(ctx, params)


SUBFLOW_TYPES: list[NodeType] = [
    NodeType(
        type="blueprint.call",
        title="Call blueprint",
        category="Flow",
        params_model=CallParams,
        run=run_call,
        runs_code=False,
        waits_for_children=True,
    ),
    NodeType(
        type="loop",
        title="Loop",
        category="Flow",
        params_model=LoopParams,
        run=run_loop,
        runs_code=False,
        waits_for_children=True,
    ),
]
