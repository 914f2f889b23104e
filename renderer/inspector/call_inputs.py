"""Promoted parameters: a ``blueprint.call`` node's form shows its child's inputs.

The call node's ``inputs`` param maps the child's declared inputs to values or
templates. A free-form mapping would be a JSON box; here its schema is rebuilt from
the child blueprint, one field per declared input (its type, default and
description), so the child's parameters are edited on the calling node, as
ComfyUI's promoted widgets are. The values stay in the parent's file under
``params.inputs`` (nothing is copied into the child), so they survive saving,
reopening and nesting: a call inside a child shows *that* child's inputs.

When the engine lists ``blueprint.call`` its params schema is used and only
``inputs`` is replaced; before it does, the documented params (``blueprint_id``,
``inputs``, ``wait``) are shown so the node stays editable.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from app.blueprint import Blueprint, InputSpec, NodeSpec
from renderer.editor.extraction import CALL_TYPE

#: Finds a child blueprint by id (None: not found).
ChildResolver = Callable[[str], Blueprint | None]

#: The documented params of ``blueprint.call``, for when the engine does not list it.
CALL_PARAMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "blueprint_id": {
            "type": "string",
            "title": "Blueprint id",
            "description": "The blueprint this node runs as a child execution",
            "minLength": 1,
        },
        "inputs": {"type": "object", "title": "Inputs", "description": "The child's inputs"},
        "wait": {
            "type": "boolean",
            "title": "Wait",
            "default": True,
            "description": "Wait for the child to finish and output its outputs",
        },
    },
    "required": ["blueprint_id"],
}


def input_schema(name: str, spec: InputSpec) -> dict[str, Any]:
    """The form field for one declared input: typed, with its default as a hint.

    ``any``/``object``/``array`` inputs become JSON boxes; every field takes a
    template, as any param does.
    """
    field: dict[str, Any] = {"title": name}
    if spec.type != "any":
        field["type"] = spec.type
    notes = [spec.description] if spec.description else []
    if spec.default is not None:
        field["default"] = spec.default
        notes.append(f"default: {spec.default!r}")
    if notes:
        field["description"] = " · ".join(notes)
    return field


def call_params_schema(
    spec: NodeSpec, base: dict[str, Any] | None, resolve: ChildResolver | None
) -> dict[str, Any]:
    """The params schema for a call node: ``base`` (or the documented one) with
    ``inputs`` made of the child's declared inputs when the child is found."""
    schema = copy.deepcopy(base) if base else copy.deepcopy(CALL_PARAMS_SCHEMA)
    child_id = spec.params.get("blueprint_id")
    child = resolve(child_id) if resolve is not None and isinstance(child_id, str) else None
    properties = schema.setdefault("properties", {})
    if child is None:
        return schema
    fields = {name: input_schema(name, declared) for name, declared in child.inputs.items()}
    required = [name for name, declared in child.inputs.items() if declared.required]
    title = f"Inputs of {child.name or child.id}"
    if fields:
        properties["inputs"] = {
            "type": "object",
            "title": title,
            "properties": fields,
            "required": required,
        }
    else:
        properties["inputs"] = {"type": "object", "title": title, "description": "none declared"}
    return schema


def is_call(spec: NodeSpec) -> bool:
    return spec.type == CALL_TYPE
