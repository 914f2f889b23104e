"""Stream nodes: ``generate`` makes a stream of items; ``collect``, ``count``, ``sum`` and
``reduce`` read one to its end into one value.

``generate`` produces numbers (``start``, ``stop``/``count``, ``step``), or objects
when ``field`` names the key the number goes in (merged into ``item``, a fixed
object each item starts from). The collecting nodes take a stream or a whole value
alike (a list counts as its items, any other value as one item); fed several
upstreams, each is read at once and the result is ``{upstream_id: result}``.
``sum`` adds the items, or their ``field`` (a dotted key path) or JMESPath
``expression``; ``reduce`` folds with a JMESPath ``expression`` over
``{acc, item}``, starting from ``initial``. Missing values count as nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.errors import NodeFailedError
from app.stream_roles import StreamRole
from main_process.nodes.base import NodeContext, NodeType
from main_process.streams.items import fold_each


class GenerateParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Generate")

    start: int = Field(default=0, description="First number.")
    stop: int | None = Field(default=None, description="Stop before this number.")
    count: int | None = Field(default=None, ge=0, description="How many items (instead of stop).")
    step: int = Field(default=1, description="Step between numbers (not 0).")
    field: str | None = Field(
        default=None, description="Put the number under this key of an object (default: bare)."
    )
    item: dict[str, Any] = Field(
        default_factory=dict, description="Fixed keys every object item starts from."
    )

    @model_validator(mode="after")
    def _bounded(self) -> GenerateParams:
        if self.step == 0:
            raise ValueError("step may not be 0")
        if (self.stop is None) == (self.count is None):
            raise ValueError("give exactly one of stop and count")
        return self


def run_generate(params: GenerateParams, input: Any, ctx: NodeContext) -> Iterator[Any]:
    """Produce a stream of numbers, or of objects holding them."""
    if params.count is not None:
        numbers: Iterator[int] = itertools.islice(
            itertools.count(params.start, params.step), params.count
        )
    else:
        assert params.stop is not None
        numbers = iter(range(params.start, params.stop, params.step))
    if params.field is None and not params.item:
        return numbers
    key, base = params.field or "value", params.item
    return ({**base, key: n} for n in numbers)


class CollectParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Collect")

    limit: int | None = Field(
        default=None, ge=0, description="Fail when the stream holds more items than this."
    )


async def run_collect(params: CollectParams, input: Any, ctx: NodeContext) -> Any:
    """Read a stream to its end into a list (holds every item in memory)."""

    async def fold(chunks: AsyncIterator[list[Any]]) -> list[Any]:
        items: list[Any] = []
        async for chunk in chunks:
            items.extend(chunk)
            if params.limit is not None and len(items) > params.limit:
                raise NodeFailedError(
                    f"the stream holds more than {params.limit} items", where="params.limit"
                )
        return items

    return await fold_each(input, fold)


async def run_count(params: CollectParams, input: Any, ctx: NodeContext) -> Any:
    """Count a stream's items."""

    async def fold(chunks: AsyncIterator[list[Any]]) -> int:
        n = 0
        async for chunk in chunks:
            n += len(chunk)
        return n

    return await fold_each(input, fold)


class SumParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Sum")

    field: str | None = Field(default=None, description="Dotted key of the number in each item.")
    expression: str | None = Field(
        default=None, description="JMESPath expression giving the number for each item."
    )


def _picker(field: str | None, expression: str | None) -> Callable[[Any], Any] | None:
    """What to take of each item: a dotted key, a JMESPath expression, or (None) itself."""
    if expression is not None:
        from main_process.nodes.data import compile_expression

        try:
            compiled = compile_expression(expression)
        except ValueError as exc:
            raise NodeFailedError(str(exc), where="params.expression") from None
        return compiled.search
    if field is None:
        return None
    path = field.split(".")
    if len(path) == 1:
        key = path[0]
        return lambda item: item.get(key) if isinstance(item, dict) else None

    def walk(item: Any) -> Any:
        for part in path:
            if not isinstance(item, dict):
                return None
            item = item.get(part)
        return item

    return walk


async def run_sum(params: SumParams, input: Any, ctx: NodeContext) -> Any:
    """Add up a stream's items (or a field or expression of each)."""
    pick = _picker(params.field, params.expression)

    # A plain key (or none) is summed at C speed; a dotted path or an expression per item.
    key = params.field if params.expression is None and "." not in (params.field or ".") else None
    fast = pick is None or key is not None

    def careful(chunk: list[Any]) -> int | float:
        values = chunk if pick is None else map(pick, chunk)
        try:
            total: int | float = sum(v for v in values if v is not None)
            return total
        except TypeError as exc:
            raise NodeFailedError(f"cannot add the items: {exc}", where="params") from None

    async def fold(chunks: AsyncIterator[list[Any]]) -> int | float:
        total: int | float = 0
        async for chunk in chunks:
            if not fast:
                total += careful(chunk)
                continue
            try:  # the usual case: every item is a number, or an object holding one
                total += sum(chunk) if key is None else sum([i[key] for i in chunk])
            except (KeyError, TypeError):  # missing keys, nulls, non-objects: item by item
                total += careful(chunk)
        return total

    return await fold_each(input, fold)


class ReduceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Reduce")

    expression: str = Field(
        min_length=1,
        description="JMESPath over {acc, item} giving the next acc, e.g. sum([acc, item.price]).",
    )
    initial: Any = Field(default=None, description="The acc before the first item.")


async def run_reduce(params: ReduceParams, input: Any, ctx: NodeContext) -> Any:
    """Fold a stream's items into one value with a JMESPath expression."""
    from main_process.nodes.data import compile_expression

    try:
        compiled = compile_expression(params.expression)
    except ValueError as exc:
        raise NodeFailedError(str(exc), where="params.expression") from None

    async def fold(chunks: AsyncIterator[list[Any]]) -> Any:
        acc = params.initial
        async for chunk in chunks:
            for item in chunk:
                acc = compiled.search({"acc": acc, "item": item})
        return acc

    return await fold_each(input, fold)


_COLLECTS = StreamRole.COLLECTS

STREAM_TYPES: list[NodeType] = [
    NodeType(
        "generate", "Generate", "Data", GenerateParams, run_generate, streams=StreamRole.PRODUCES
    ),
    NodeType("collect", "Collect", "Data", CollectParams, run_collect, streams=_COLLECTS),
    NodeType("count", "Count", "Data", CollectParams, run_count, streams=_COLLECTS),
    NodeType("sum", "Sum", "Data", SumParams, run_sum, streams=_COLLECTS),
    NodeType("reduce", "Reduce", "Data", ReduceParams, run_reduce, streams=_COLLECTS),
]
