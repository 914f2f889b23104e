"""The engine's blueprint library and node type operations (the part of
:class:`~main_process.engine.engine.Engine` that runs nothing; it holds one
:class:`BlueprintOps` and delegates to it)."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Iterator, Mapping

from app.blueprint import Blueprint, as_blueprint
from app.blueprint_ids import REFERENCING_PARAMS
from app.errors import BlueprintError, ConfigError, Problem
from app.results import BlueprintSummary, NodeTypeInfo
from app.transport import BlueprintArg
from app.validation import validate_blueprint
from main_process.engine.error_handlers import handler_problems
from main_process.engine.plan import Plan, PlanCache
from main_process.engine.subflow_checks import subflow_problems
from main_process.library import BlueprintLibrary
from main_process.nodes.registry import NodeRegistry
from main_process.runners.dask_runner import dask_problems

#: Why a code node is refused by an engine that allows none.
CODE_NODES_OFF = "it runs code, and code nodes are turned off (conductor serve --no-code-nodes)"


class CodeNodeTypes(Mapping[str, str]):
    """The registered types that run code, each with the reason an engine without code
    nodes gives for refusing it: ``runs_code=True``, or undeclared on a type that is
    not built in (see :class:`~main_process.nodes.base.NodeType`). A live view of the
    registry, so a type registered after the engine started is judged too."""

    def __init__(self, registry: NodeRegistry) -> None:
        self._registry = registry

    def _runs_code(self, name: str) -> bool:
        node_type = self._registry.lookup(name)
        if node_type is None:
            return False
        if node_type.runs_code is not None:
            return node_type.runs_code
        return name not in _builtin_names()

    def __getitem__(self, name: str) -> str:
        if self._runs_code(name):
            return CODE_NODES_OFF
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._registry.type_names() if self._runs_code(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@functools.cache
def _builtin_names() -> frozenset[str]:
    from main_process.nodes.builtin import BUILTIN_MODULES

    return frozenset(BUILTIN_MODULES)


def code_node_types(registry: NodeRegistry) -> Mapping[str, str]:
    """What an engine without code nodes refuses (see :class:`CodeNodeTypes`)."""
    return CodeNodeTypes(registry)


#: A blueprint whose JSON is larger than this is compiled and validated on a thread:
#: compiling a 5 MB template holds a thread ~150 ms, which the loop must not wait out.
INLINE_BLUEPRINT_BYTES = 256 * 1024


class BlueprintOps:
    """Validate, list, fetch, save and delete blueprints; describe node types.

    ``disabled_types`` (type → reason) count as problems everywhere a blueprint is
    checked, so validating answers "would this engine run it", and a blueprint it
    would refuse is not saved to the shared library either.
    """

    def __init__(
        self,
        registry: NodeRegistry,
        library: BlueprintLibrary,
        disabled_types: Mapping[str, str],
        *,
        dask: bool = False,
    ) -> None:
        self.registry = registry
        #: Whether ``runner: dask`` can run here (the engine was given a scheduler).
        self.dask = dask
        self.library = library
        self.disabled_types = disabled_types
        #: Compiled plans of recent blueprints, by content.
        self.plans = PlanCache(registry, disabled_types=disabled_types)

    async def resolve(self, blueprint_id: str | None, blueprint: BlueprintArg | None) -> Blueprint:
        """The blueprint a call names: given inline, or by id from the library (read on
        a thread: a YAML file may take its reading budget, seconds)."""
        if blueprint is not None:
            return as_blueprint(blueprint)
        if blueprint_id is None:
            raise ConfigError("give exactly one of blueprint_id and blueprint", where="blueprint")
        return await asyncio.to_thread(self.library.load, blueprint_id)

    def plan_for(self, blueprint: Blueprint, engine_json: bytes | None = None) -> Plan:
        """The compiled plan, from the cache when this exact content ran before."""
        return self.plans.get(blueprint, engine_json)

    async def plan_off_loop(self, blueprint: Blueprint, engine_json: bytes) -> Plan:
        """:meth:`plan_for`, compiling a big blueprint on a thread (its templates), and
        the first one too: it imports Jinja2 and jmespath, ~100 ms of CPU. A
        ``runner: dask`` node on an engine without a scheduler is refused here."""
        plan = await self._plan_off_loop(blueprint, engine_json)
        if not self.dask and (problems := dask_problems(blueprint, False)):
            raise BlueprintError(
                f"blueprint {blueprint.id!r} is invalid: {problems[0]}", problems=problems
            )
        return plan

    async def _plan_off_loop(self, blueprint: Blueprint, engine_json: bytes) -> Plan:
        if len(engine_json) <= INLINE_BLUEPRINT_BYTES and "app.template_sandbox" in sys.modules:
            return self.plans.get(blueprint, engine_json)
        key = self.plans.key(blueprint, engine_json)
        cached = self.plans.cached(key)
        if cached is not None:
            return cached
        return self.plans.add(key, await asyncio.to_thread(self.plans.compile, blueprint, key))

    async def validate(self, blueprint: BlueprintArg) -> list[Problem]:
        """The blueprint's problems; checked on a thread (it compiles every template),
        with its sub-blueprint references and ``error_handler`` checked against the
        library (this is where the library is known)."""
        return await asyncio.to_thread(self._all_problems, blueprint, True)

    def _all_problems(self, blueprint: BlueprintArg, handler: bool = False) -> list[Problem]:
        """Every problem; ``handler`` (validate, not save): also the references to the
        library's error handler and ``runner: dask`` nodes this engine cannot run."""
        problems = validate_blueprint(blueprint, self.registry, disabled_types=self.disabled_types)
        try:
            model = as_blueprint(blueprint)
        except BlueprintError:
            return problems  # its shape problems are listed already
        if not problems:
            problems = subflow_problems(model, self.library)
        if not handler:
            return problems
        return [
            *problems,
            *dask_problems(model, self.dask),
            *handler_problems(model, self.library),
        ]

    async def check_subflows(self, blueprint: Blueprint) -> None:
        """Refuse (BlueprintError, every problem) a blueprint whose ``blueprint.call``
        or ``loop`` nodes name unknown blueprints, recurse or nest too deep."""
        if not any(node.type in REFERENCING_PARAMS for node in blueprint.nodes):
            return
        problems = await asyncio.to_thread(subflow_problems, blueprint, self.library)
        if problems:
            raise BlueprintError(
                f"blueprint {blueprint.id!r} is invalid: {problems[0]}", problems=problems
            )

    def check_handler(self, blueprint: Blueprint) -> None:
        """Raise BlueprintError when ``error_handler`` names no library blueprint."""
        problems = handler_problems(blueprint, self.library)
        if problems:
            raise BlueprintError(
                f"blueprint {blueprint.id!r} is invalid: {problems[0].message}",
                problems=problems,
            )

    async def list_blueprints(self) -> list[BlueprintSummary]:
        return await asyncio.to_thread(self.library.list)

    async def get_blueprint(self, blueprint_id: str) -> Blueprint:
        return await asyncio.to_thread(self.library.load, blueprint_id)

    async def save_blueprint(self, blueprint: BlueprintArg) -> BlueprintSummary:
        """Validate and store a blueprint under its id; an invalid one is not saved."""
        model = as_blueprint(blueprint)
        problems = await asyncio.to_thread(self._all_problems, model)
        if problems:
            raise BlueprintError(
                f"blueprint {model.id!r} is invalid: {len(problems)} problem(s); not saved",
                problems=problems,
            )
        return self.library.save(model)

    async def delete_blueprint(self, blueprint_id: str) -> None:
        self.library.delete(blueprint_id)

    async def copy_blueprint(
        self, blueprint_id: str, new_id: str, *, move: bool = False, name: str | None = None
    ) -> BlueprintSummary:
        """Duplicate (or, with ``move``, rename) a library blueprint; see
        :meth:`~main_process.library.BlueprintLibrary.copy` for what is refused. The
        document is copied as it is, so a draft that does not validate yet can be
        renamed too."""
        return await asyncio.to_thread(
            self.library.copy, blueprint_id, new_id, move=move, name=name
        )

    async def node_types(self) -> list[NodeTypeInfo]:
        return self.registry.describe()
