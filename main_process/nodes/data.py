"""``json.transform``: reshape the input with a JMESPath expression.

The expression is compiled when the params are validated, so a syntax error is
reported with the blueprint's other problems — with its column — before anything
runs, rather than halfway through an execution. Compiled expressions are cached:
the same node runs many times with the same expression.

``jmespath`` is imported on first use, not at module import, to keep start-up of
the CLI and worker cheap.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import NodeFailedError
from app.evaluation_limits import eval_timeout, evaluate
from app.stream_roles import flagged_role
from main_process.nodes.base import NodeContext, NodeType

if TYPE_CHECKING:
    from jmespath.parser import ParsedResult


def _looks_like_template(text: str) -> bool:
    """Unrendered templates are checked after rendering, when the engine validates again."""
    return "{{" in text or "{%" in text


def _describe_parse_error(exc: Exception) -> str:
    """One readable line from jmespath's multi-line parse and lexer errors."""
    column = getattr(exc, "lex_position", None)
    token = getattr(exc, "token_value", None)
    detail = getattr(exc, "message", None) or getattr(exc, "msg", None) or str(exc)
    where = f" at column {column + 1}" if isinstance(column, int) else ""
    if token is None:
        return f"invalid JMESPath expression{where}: the expression ends too early"
    return f"invalid JMESPath expression{where} near {token!r}: {detail}"


@lru_cache(maxsize=256)
def compile_expression(expression: str) -> ParsedResult:
    """Compile ``expression``; a syntax error becomes a ``ValueError`` with its column."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValueError(_describe_parse_error(exc)) from None
    except RecursionError:  # jmespath's parser recurses once per nesting level
        raise ValueError("invalid JMESPath expression: it is nested too deeply") from None


class TransformParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="JSON transform")

    expression: str = Field(
        min_length=1,
        description="JMESPath expression applied to the input, e.g. items[?price > `0`].name",
        examples=["items[?price > `0`]", "{names: people[].name}"],
    )
    per_item: bool = Field(
        default=False, description="Apply the expression to each item of a stream (or list)."
    )

    @field_validator("expression")
    @classmethod
    def _compiles(cls, expression: str) -> str:
        if not _looks_like_template(expression):
            compile_expression(expression)
        return expression


#: Inputs with more top-level items than this are searched on a node thread.
BLOCKING_ITEMS = 2000


async def run_transform(params: TransformParams, input: Any, ctx: NodeContext) -> Any:
    """Apply a JMESPath expression to the input and output the result.

    JMESPath is pure Python: over 100,000 items it computes for ~0.4 s, which on
    the engine loop stalls every other execution and request (a health check of
    ``conductor serve`` waited 1.7 s during a load burst, measured). A large input
    is therefore searched on a thread at once; a small one inline, where a thread
    hop would cost more than the search, moved to a thread only if it runs past the
    loop's budget (:func:`app.evaluation_limits.evaluate`). Either way the search is
    stopped at the node's timeout, and refused past the value budget
    (:mod:`main_process.nodes.bounded_jmespath`).
    """
    big = isinstance(input, list | dict) and len(input) > BLOCKING_ITEMS
    return await evaluate(
        lambda: _search(params, input),
        timeout=eval_timeout(ctx.timeout),
        where="params.expression",
        what="the JMESPath expression",
        inline=not big,
    )


def _search(params: TransformParams, input: Any) -> Any:
    from jmespath.exceptions import JMESPathError

    from main_process.nodes.bounded_jmespath import search

    try:
        compiled = compile_expression(params.expression)
    except ValueError as exc:
        raise NodeFailedError(str(exc), where="params.expression") from None
    try:
        return search(compiled, input)
    except JMESPathError as exc:
        raise NodeFailedError(
            f"JMESPath expression {params.expression!r} failed on the input: {exc}",
            where="params.expression",
        ) from exc


DATA_TYPES: list[NodeType] = [
    NodeType(
        "json.transform",
        "JSON transform",
        "Data",
        TransformParams,
        run_transform,
        streams=flagged_role,
        item_function=lambda params, ctx: lambda item: _search(params, item),
    ),
]
