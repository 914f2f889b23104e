"""The engine's blueprint library and node type methods (the part of
:class:`~main_process.engine.Engine` that runs nothing)."""

from __future__ import annotations

from collections.abc import Mapping

from app.blueprint import Blueprint, as_blueprint
from app.errors import BlueprintError, Problem
from app.results import BlueprintSummary, NodeTypeInfo
from app.transport import BlueprintArg
from app.validation import validate_blueprint
from main_process.library import BlueprintLibrary
from main_process.nodes.registry import NodeRegistry

#: Why a code node is refused by an engine that allows none.
CODE_NODES_OFF = "it runs code, and code nodes are turned off (conductor serve --no-code-nodes)"


def code_node_types(registry: NodeRegistry) -> dict[str, str]:
    """Every registered type that runs code (``NodeType.runs_code``), with the reason
    an engine without code nodes gives for refusing it."""
    return {name: CODE_NODES_OFF for name in registry.type_names() if registry.get(name).runs_code}


class BlueprintMethods:
    """Validate, list, fetch, save and delete blueprints; describe node types.

    ``disabled_types`` (type → reason) count as problems everywhere a blueprint is
    checked, so validating answers "would this engine run it", and a blueprint it
    would refuse is not saved to the shared library either.
    """

    registry: NodeRegistry
    library: BlueprintLibrary
    disabled_types: Mapping[str, str]

    async def validate(self, blueprint: BlueprintArg) -> list[Problem]:
        return validate_blueprint(blueprint, self.registry, disabled_types=self.disabled_types)

    async def list_blueprints(self) -> list[BlueprintSummary]:
        return self.library.list()

    async def get_blueprint(self, blueprint_id: str) -> Blueprint:
        return self.library.load(blueprint_id)

    async def save_blueprint(self, blueprint: BlueprintArg) -> BlueprintSummary:
        """Validate and store a blueprint under its id; an invalid one is not saved."""
        model = as_blueprint(blueprint)
        problems = validate_blueprint(model, self.registry, disabled_types=self.disabled_types)
        if problems:
            raise BlueprintError(
                f"blueprint {model.id!r} is invalid: {len(problems)} problem(s); not saved",
                problems=problems,
            )
        return self.library.save(model)

    async def delete_blueprint(self, blueprint_id: str) -> None:
        self.library.delete(blueprint_id)

    async def node_types(self) -> list[NodeTypeInfo]:
        return self.registry.describe()
