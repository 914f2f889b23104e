"""Blueprint inputs: defaults, required ones, and types, checked before a run starts.

Values given on a command line arrive as strings, so a string is converted to the
declared type when it reads as one (``"3"`` for an integer input); anything that
does not fit is a problem named ``inputs.<name>``.
"""

from __future__ import annotations

import json
from typing import Any

from app.blueprint import Blueprint, InputSpec
from app.errors import BlueprintError, Problem

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _coerce(spec: InputSpec, value: Any) -> Any:
    kind = spec.type
    if kind == "any":
        return value
    expected = _PY_TYPES[kind]
    if isinstance(value, expected) and not (kind in ("number", "integer") and isinstance(value, bool)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if kind == "boolean" and text.lower() in ("true", "false", "1", "0", "yes", "no"):
            return text.lower() in ("true", "1", "yes")
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind in ("object", "array"):
            parsed = json.loads(text)
            if isinstance(parsed, expected):
                return parsed
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected {kind}, got {type(value).__name__} {value!r:.60}")


def resolve_inputs(blueprint: Blueprint, given: dict[str, Any]) -> dict[str, Any]:
    """The inputs an execution runs with; raises BlueprintError listing every problem."""
    if not blueprint.inputs:
        return dict(given)
    problems: list[Problem] = []
    resolved: dict[str, Any] = {}
    for name, spec in blueprint.inputs.items():
        if name in given:
            try:
                resolved[name] = _coerce(spec, given[name])
            except ValueError as exc:
                problems.append(Problem(where=f"inputs.{name}", message=str(exc), code="type"))
        elif spec.required:
            problems.append(
                Problem(where=f"inputs.{name}", message="required input is missing", code="missing")
            )
        else:
            resolved[name] = spec.default
    for name in given:
        if name not in blueprint.inputs:
            declared = ", ".join(blueprint.inputs) or "none"
            problems.append(
                Problem(
                    where=f"inputs.{name}",
                    message=f"unknown input (declared: {declared})",
                    code="unknown",
                )
            )
    if problems:
        raise BlueprintError(
            f"inputs for blueprint {blueprint.id!r} are invalid", problems=problems, where="inputs"
        )
    return resolved
