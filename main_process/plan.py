"""A blueprint compiled for running: indices instead of ids, templates compiled once.

The executor's hot loop should not look anything up by name, parse a template or
validate static params. :func:`compile_plan` checks the blueprint (every problem
at once, via :mod:`app.validation`) and then does all of that ahead of time. Plans
are cached by content hash by the engine, so a blueprint run many times is
compiled once.
"""

from __future__ import annotations

import inspect
import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from app.blueprint import Blueprint, JoinRule, NodeSpec, OnError, Runner, digest
from app.templates import ValueTemplate, compile_value
from app.validation import check_blueprint
from main_process.nodes.base import NodeType
from main_process.nodes.registry import NodeRegistry


@dataclass(slots=True, eq=False)
class PlanNode:
    """One node, ready to run."""

    index: int
    id: str
    spec: NodeSpec
    where: str
    node_type: NodeType | None
    function: Callable[..., Any] | None
    takes_context: bool
    is_async: bool
    runner: Runner
    params: BaseModel | None
    params_template: ValueTemplate | None
    upstream: list[tuple[int, str | None]] = field(default_factory=list)
    downstream: list[tuple[int, str | None]] = field(default_factory=list)
    max_attempts: int = 1
    timeout: float | None = None
    when: JoinRule = JoinRule.ALL_SUCCESS
    continue_on_error: bool = False


OutputKind = Literal["node", "template", "literal"]


@dataclass(slots=True, eq=False)
class Plan:
    """An executable blueprint."""

    blueprint: Blueprint
    blueprint_hash: str
    nodes: list[PlanNode]
    by_id: dict[str, PlanNode]
    sequential: bool
    outputs: list[tuple[str, OutputKind, Any]] | None

    @property
    def roots(self) -> list[int]:
        return [n.index for n in self.nodes if not n.upstream]

    @property
    def sinks(self) -> list[int]:
        return [n.index for n in self.nodes if not n.downstream]


def _takes_context(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in positional)


def _compile_node(index: int, spec: NodeSpec, registry: NodeRegistry) -> PlanNode:
    where = f"nodes[{index}]"
    fn = spec.function
    node_type = None if fn is not None else registry.get(spec.type)
    params: BaseModel | None = None
    template: ValueTemplate | None = None
    if node_type is not None:
        template = compile_value(spec.params, f"{where}.params")
        if template is None:
            params = node_type.params_model.model_validate(spec.params)
        is_async = node_type.is_async
        runner = spec.runner or node_type.runner
        takes_context = True
    else:
        assert fn is not None
        is_async = inspect.iscoroutinefunction(fn)
        runner = spec.runner or (Runner.INLINE if is_async else Runner.THREAD)
        takes_context = _takes_context(fn)
    return PlanNode(
        index=index,
        id=spec.id,
        spec=spec,
        where=where,
        node_type=node_type,
        function=fn,
        takes_context=takes_context,
        is_async=is_async,
        runner=runner,
        params=params,
        params_template=template,
        max_attempts=spec.retry.max_attempts if spec.retry else 1,
        timeout=spec.timeout,
        when=spec.when,
        continue_on_error=spec.on_error is OnError.CONTINUE,
    )


def compile_plan(
    blueprint: Blueprint, registry: NodeRegistry, *, blueprint_hash: str | None = None
) -> Plan:
    """Check ``blueprint`` (raising BlueprintError with every problem) and compile it."""
    check_blueprint(blueprint, registry)
    nodes = [_compile_node(i, spec, registry) for i, spec in enumerate(blueprint.nodes)]
    by_id = {n.id: n for n in nodes}
    if blueprint.edges is None:
        for prev, node in itertools.pairwise(nodes):
            prev.downstream.append((node.index, None))
            node.upstream.append((prev.index, None))
    else:
        for edge in blueprint.edges:
            src, dst = by_id[edge.source], by_id[edge.target]
            src.downstream.append((dst.index, edge.source_port))
            dst.upstream.append((src.index, edge.source_port))
    outputs: list[tuple[str, OutputKind, Any]] | None = None
    if blueprint.outputs is not None:
        outputs = []
        for name, value in blueprint.outputs.items():
            if isinstance(value, str) and value in by_id:
                outputs.append((name, "node", value))
                continue
            compiled = compile_value(value, f"outputs.{name}")
            if compiled is None:
                outputs.append((name, "literal", value))
            else:
                outputs.append((name, "template", compiled))
    return Plan(
        blueprint=blueprint,
        blueprint_hash=blueprint_hash or blueprint.content_hash(),
        nodes=nodes,
        by_id=by_id,
        sequential=blueprint.edges is None,
        outputs=outputs,
    )


class PlanCache:
    """Compiled plans by content hash (and, for code-defined nodes, their functions),
    least recently used out first: a blueprint run many times is compiled once."""

    def __init__(self, registry: NodeRegistry, size: int = 128) -> None:
        self.registry = registry
        self.size = size
        self._plans: OrderedDict[tuple[Any, ...], Plan] = OrderedDict()

    def get(self, blueprint: Blueprint, engine_json: bytes | None = None) -> Plan:
        content = digest(engine_json if engine_json is not None else blueprint.engine_json())
        functions = tuple(id(n.function) for n in blueprint.nodes if n.function is not None)
        key = (content, functions)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            return plan
        plan = compile_plan(blueprint, self.registry, blueprint_hash=content)
        self._plans[key] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan

    def recent_blueprints(self) -> list[Blueprint]:
        """The cached blueprints, newest first (they keep code-defined functions)."""
        return [plan.blueprint for plan in reversed(self._plans.values())]
