"""Reading a params JSON schema into form fields, and checking a value against one (no Qt).

Node types describe their params with the JSON schema pydantic generates, so the
inspector can render any type, a plugin's included. This module turns such a
schema into :class:`FieldSpec` entries: it follows ``$ref`` into ``$defs``, reads
``anyOf``/``oneOf`` with ``null`` as an optional field, and picks one widget kind
per field. What it cannot render as a plain widget (arrays, free-form objects,
unions, untyped values) becomes a JSON text box.

Templates are allowed in any string param (the engine renders them before the
params model checks the result), so a template is accepted in number and JSON
fields too; :func:`check_value` only checks values it can judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.templates import is_template

_NULL = {"type": "null"}


class FieldKind(StrEnum):
    """Which editor a field gets."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    #: An object with declared properties: a nested group of fields.
    OBJECT = "object"
    #: Anything else (arrays, free objects, unions, untyped): JSON in a text box.
    JSON = "json"


@dataclass(frozen=True)
class FieldSpec:
    """One form field, as read from a property of a JSON schema."""

    name: str
    title: str
    kind: FieldKind
    description: str = ""
    required: bool = False
    nullable: bool = False
    has_default: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    examples: tuple[Any, ...] = ()
    #: Nested fields of an OBJECT field.
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    #: The resolved schema, for anything the editors want to look up.
    schema: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (``#/$defs/X``, ``#/definitions/X``), keeping sibling keywords."""
    seen: set[str] = set()
    while "$ref" in schema:
        ref = str(schema["$ref"])
        if ref in seen or not ref.startswith("#/"):
            break
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**(target if isinstance(target, dict) else {}), **siblings}
    return schema


def _unwrap_nullable(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``anyOf: [X, {"type": "null"}]`` → (X, True); other unions stay as they are."""
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if not isinstance(options, list):
            continue
        others = [resolve(o, root) for o in options if resolve(o, root) != _NULL]
        if len(others) == len(options):
            return schema, False
        rest = {k: v for k, v in schema.items() if k != key}
        if len(others) == 1:
            return {**others[0], **rest}, True
        return {**rest, key: others}, True
    types = schema.get("type")
    if isinstance(types, list) and "null" in types:
        kept = [t for t in types if t != "null"]
        return {**schema, "type": kept[0] if len(kept) == 1 else kept}, True
    return schema, False


def _kind(schema: dict[str, Any]) -> FieldKind:
    if "enum" in schema or "const" in schema:
        return FieldKind.ENUM
    kind = schema.get("type")
    if kind in ("string", "number", "integer", "boolean"):
        return FieldKind(kind)
    if kind == "object" and schema.get("properties") and not schema.get("additionalProperties"):
        return FieldKind.OBJECT
    return FieldKind.JSON


def field_from_schema(
    name: str, schema: dict[str, Any], root: dict[str, Any], required: bool = False
) -> FieldSpec:
    """The field for one property (``root`` holds the ``$defs``)."""
    resolved, nullable = _unwrap_nullable(resolve(schema, root), root)
    resolved = resolve(resolved, root)
    kind = _kind(resolved)
    choices: tuple[Any, ...] = ()
    if kind is FieldKind.ENUM:
        choices = tuple(resolved["enum"]) if "enum" in resolved else (resolved["const"],)
    nested: tuple[FieldSpec, ...] = ()
    if kind is FieldKind.OBJECT:
        nested = tuple(fields_from_schema(resolved, root))
    title = str(schema.get("title") or resolved.get("title") or name.replace("_", " ").capitalize())
    return FieldSpec(
        name=name,
        title=title,
        kind=kind,
        description=str(schema.get("description") or resolved.get("description") or ""),
        required=required,
        nullable=nullable,
        has_default="default" in schema or "default" in resolved,
        default=schema.get("default", resolved.get("default")),
        choices=choices,
        minimum=resolved.get("minimum"),
        maximum=resolved.get("maximum"),
        exclusive_minimum=resolved.get("exclusiveMinimum"),
        exclusive_maximum=resolved.get("exclusiveMaximum"),
        min_length=resolved.get("minLength"),
        max_length=resolved.get("maxLength"),
        examples=tuple(schema.get("examples") or resolved.get("examples") or ()),
        fields=nested,
        schema=resolved,
    )


def fields_from_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None
) -> list[FieldSpec]:
    """The fields of an object schema, in property order."""
    root = schema if root is None else root
    schema = resolve(schema, root)
    required = set(schema.get("required") or [])
    properties = schema.get("properties") or {}
    return [
        field_from_schema(name, prop, root, name in required)
        for name, prop in properties.items()
        if isinstance(prop, dict)
    ]


def _bound_message(spec: FieldSpec, number: float) -> str | None:
    if spec.minimum is not None and number < spec.minimum:
        return f"must be at least {spec.minimum:g}"
    if spec.maximum is not None and number > spec.maximum:
        return f"must be at most {spec.maximum:g}"
    if spec.exclusive_minimum is not None and number <= spec.exclusive_minimum:
        return f"must be more than {spec.exclusive_minimum:g}"
    if spec.exclusive_maximum is not None and number >= spec.exclusive_maximum:
        return f"must be less than {spec.exclusive_maximum:g}"
    return None


def check_value(spec: FieldSpec, value: Any) -> str | None:
    """Why ``value`` does not fit the field (a short phrase), or None when it does.

    ``None`` stands for "not set": refused only for a required field. Templates
    are accepted wherever a string can stand, since they are rendered first.
    """
    if value is None:
        return "required" if spec.required and not spec.nullable else None
    if isinstance(value, str) and is_template(value) and spec.kind is not FieldKind.STRING:
        return None
    match spec.kind:
        case FieldKind.STRING:
            if not isinstance(value, str):
                return "expected text"
            if spec.min_length is not None and len(value) < spec.min_length:
                return (
                    "must not be empty"
                    if spec.min_length == 1
                    else (f"must be at least {spec.min_length} characters")
                )
            if spec.max_length is not None and len(value) > spec.max_length:
                return f"must be at most {spec.max_length} characters"
        case FieldKind.INTEGER | FieldKind.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return "expected a number"
            if spec.kind is FieldKind.INTEGER and not float(value).is_integer():
                return "expected a whole number"
            if isinstance(value, float) and not math.isfinite(value):
                return "expected a finite number"
            return _bound_message(spec, float(value))
        case FieldKind.BOOLEAN:
            if not isinstance(value, bool):
                return "expected true or false"
        case FieldKind.ENUM:
            if value not in spec.choices:
                return "expected one of " + ", ".join(str(c) for c in spec.choices)
        case FieldKind.OBJECT | FieldKind.JSON:
            expected = spec.schema.get("type")
            if expected == "array" and not isinstance(value, list):
                return "expected a JSON list"
            if expected == "object" and not isinstance(value, dict):
                return "expected a JSON object"
    return None
