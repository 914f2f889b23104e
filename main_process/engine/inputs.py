"""Blueprint inputs: defaults, required ones, and types, checked before a run starts.

Values given on a command line arrive as strings, so a string is converted to the
declared type when it reads as one (``"3"`` for an integer input); anything that
does not fit is a problem named ``inputs.<name>``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from app.blueprint import Blueprint, InputSpec
from app.errors import BlueprintError, ConfigError, Problem

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
    is_number = kind in ("number", "integer")
    if isinstance(value, expected) and not (is_number and isinstance(value, bool)):
        return value
    shown = f"{value!r:.60}"
    if isinstance(value, str):
        text = value.strip()
        if kind == "boolean" and text.lower() in ("true", "false", "1", "0", "yes", "no"):
            return text.lower() in ("true", "1", "yes")
        if is_number:
            number = _number(text, integer=kind == "integer")
            if number is not None:
                return number
            raise ValueError(
                f"expected {'an integer' if kind == 'integer' else 'a number'}, got {shown}"
            )
        if kind in ("object", "array"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"expected a JSON {kind}, got {shown} (not JSON: {exc.msg} at column "
                    f"{exc.colno})"
                ) from None
            if isinstance(parsed, expected):
                return parsed
    raise ValueError(f"expected {kind}, got {type(value).__name__} {shown}")


def _number(text: str, *, integer: bool) -> int | float | None:
    """A finite number from text, or None (``nan`` and ``inf`` are not inputs)."""
    try:
        return int(text)
    except ValueError:
        pass
    if integer:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def resolve_inputs(blueprint: Blueprint, given: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs an execution runs with; raises BlueprintError listing every problem,
    or ConfigError when ``given`` is not a mapping at all."""
    if not isinstance(given, Mapping):
        raise ConfigError(
            f"inputs must be a mapping of input names to values, not {type(given).__name__}",
            where="inputs",
        )
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
