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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from app.blueprint import Blueprint, JoinRule, NodeSpec, OnError, Runner, digest
from app.catch_scope import catch_scopes
from app.errors import BlueprintError, Problem
from app.stream_roles import StreamRole, node_role
from app.templates import ValueTemplate, compile_value
from app.validation import check_blueprint
from main_process.nodes.base import NodeType
from main_process.nodes.registry import NodeRegistry
from main_process.runners.process_messages import importable_name


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
    #: ``runner: process``/``dask``: the ``module:qualname`` a worker calls, and for a node
    #: type the params model it validates with (see :mod:`main_process.runners.process`).
    process_target: str | None = None
    process_params_model: str | None = None
    #: The node only waits for child runs (``blueprint.call``, ``loop``): it takes no
    #: slot of the engine-wide node limit, or its children could never get one.
    waits_for_children: bool = False
    #: A ``catch`` node: the indices of the nodes in its scope (None: not a catch).
    catch_scope: frozenset[int] | None = None
    #: Whether some catch node has this node in its scope (its failure is caught).
    caught: bool = False
    #: Its part in streams of items (:mod:`app.stream_roles`; ``whole``: none).
    stream_role: StreamRole = StreamRole.WHOLE


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
    #: Some node produces, maps or collects a stream (:mod:`main_process.streams`).
    streams: bool = False

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
    if runner is Runner.INLINE and not is_async and spec.timeout is not None:
        # A plain call on the loop cannot be interrupted, so its timeout could never
        # fire (and it would stall every other run): honour the timeout on a thread.
        runner = Runner.THREAD
    role = node_role(spec, node_type)
    target, model = None, None
    if runner is Runner.PROCESS or runner is Runner.DASK:
        target, model = _process_names(where, spec, node_type, runner)
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
        process_target=target,
        process_params_model=model,
        # A stream's producer and per-item stages wait on each other: none holds a slot
        # of the engine-wide node limit, or a pipeline longer than it could never flow.
        waits_for_children=(node_type is not None and node_type.waits_for_children)
        or role is StreamRole.PRODUCES
        or role is StreamRole.PER_ITEM,
        stream_role=role,
    )


def _process_names(
    where: str, spec: NodeSpec, node_type: NodeType | None, runner: Runner
) -> tuple[str, str | None]:
    """What a worker process (or Dask worker) imports to run this node; a BlueprintError
    naming the node when its code cannot cross a process (a closure, a lambda, a
    ``__main__`` function)."""
    if node_type is not None:
        target = importable_name(node_type.run)
        model = importable_name(node_type.params_model)
        if target is not None and model is not None:
            return target, model
        what = f"node type {spec.type!r} has a run function or params model that is not"
    else:
        target = importable_name(spec.function)
        if target is not None:
            return target, None
        name = getattr(spec.function, "__qualname__", repr(spec.function))
        what = f"function {name!r} is not"
    message = (
        f"node {spec.id!r}: runner {runner.value} needs an importable function; {what} "
        "importable by module and name (a closure, lambda or __main__ function cannot "
        "cross to a worker process)"
    )
    raise BlueprintError(
        message, problems=[Problem(where=f"{where}.runner", message=message)], node_id=spec.id
    )


def compile_plan(
    blueprint: Blueprint,
    registry: NodeRegistry,
    *,
    blueprint_hash: str | None = None,
    disabled_types: Mapping[str, str] | None = None,
) -> Plan:
    """Check ``blueprint`` (raising BlueprintError with every problem) and compile it.

    ``disabled_types`` (type → reason) are refused as problems, see
    :func:`app.validation.validate_blueprint`.
    """
    check_blueprint(blueprint, registry, disabled_types=disabled_types)
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
        _wire_catches(blueprint, nodes)
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
        streams=any(node.stream_role is not StreamRole.WHOLE for node in nodes),
    )


def _wire_catches(blueprint: Blueprint, nodes: list[PlanNode]) -> None:
    """A catch node waits for every node in its scope (an implicit edge from each
    one it is not wired to), and those nodes' failures are caught."""
    for index, scope in catch_scopes(blueprint).items():
        catch = nodes[index]
        catch.catch_scope = scope
        wired = {source for source, _port in catch.upstream}
        for member in sorted(scope):
            nodes[member].caught = True
            if member not in wired:
                nodes[member].downstream.append((index, None))
                catch.upstream.append((member, None))


class PlanCache:
    """Compiled plans by content hash (and, for code-defined nodes, their functions),
    least recently used out first: a blueprint run many times is compiled once.

    ``disabled_types`` is fixed for the cache's life, so a cached plan never
    outlives the rule that checked it.
    """

    def __init__(
        self,
        registry: NodeRegistry,
        size: int = 128,
        *,
        disabled_types: Mapping[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.size = size
        self.disabled_types = dict(disabled_types or {})
        self._plans: OrderedDict[tuple[Any, ...], Plan] = OrderedDict()

    def get(self, blueprint: Blueprint, engine_json: bytes | None = None) -> Plan:
        key = self.key(blueprint, engine_json)
        return self.cached(key) or self.add(key, self.compile(blueprint, key))

    def key(self, blueprint: Blueprint, engine_json: bytes | None = None) -> tuple[Any, ...]:
        content = digest(engine_json if engine_json is not None else blueprint.engine_json())
        functions = tuple(id(n.function) for n in blueprint.nodes if n.function is not None)
        return (content, functions)

    def cached(self, key: tuple[Any, ...]) -> Plan | None:
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
        return plan

    def compile(self, blueprint: Blueprint, key: tuple[Any, ...]) -> Plan:
        """Compile without touching the cache: safe on a thread (a big blueprint's)."""
        return compile_plan(
            blueprint, self.registry, blueprint_hash=key[0], disabled_types=self.disabled_types
        )

    def add(self, key: tuple[Any, ...], plan: Plan) -> Plan:
        self._plans[key] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan

    def recent_blueprints(self) -> list[Blueprint]:
        """The cached blueprints, newest first (they keep code-defined functions)."""
        return [plan.blueprint for plan in reversed(self._plans.values())]
