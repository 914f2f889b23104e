"""Pydantic's validation errors, as problems a person can act on.

Each error becomes a :class:`~app.errors.Problem` whose ``where`` is a path such as
``nodes[2].params.url`` and whose message is plain language ("expected a number,
got 'abc'", "unknown field 'retrys' — did you mean 'retry'?") instead of
pydantic's dump. Used for blueprint shapes and for node params alike.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.errors import BlueprintError, Problem
from app.templates import join_path

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

PathKey = str | int
_MISSING = object()


def format_path(path: Sequence[Any], base: str = "") -> str:
    """``("nodes", 2, "params", "url")`` → ``nodes[2].params.url``."""
    where = base
    for key in path:
        where = join_path(where, key if isinstance(key, int | str) else str(key))
    return where


def show_value(value: Any) -> str:
    """A short, JSON-flavoured rendering of a bad value for a message."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:39] + "…")
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


_EXPECTED = {
    kind: words
    for words, kinds in {
        "a string": "string_type",
        "an integer": "int_type int_parsing int_from_float",
        "a number": "float_type float_parsing",
        "true or false": "bool_type bool_parsing",
        "a mapping": "dict_type model_type model_attributes_type mapping_type",
        "a list": "list_type tuple_type set_type iterable_type",
        "null": "none_required",
    }.items()
    for kind in kinds.split()
}
_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _message(err: ErrorDetails, key: PathKey | None) -> str:
    """Pydantic's error in words a blueprint author understands."""
    kind, ctx, got = err["type"], err.get("ctx") or {}, show_value(err.get("input"))
    if kind == "extra_forbidden":
        return f"unknown field {key!r}"
    if kind == "missing":
        return f"missing item {key}" if isinstance(key, int) else f"missing required field {key!r}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {got}"
    if kind in ("literal_error", "enum"):
        return f"expected {ctx.get('expected')}, got {got}"
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()), "?")
        return f"must be {_BOUNDS[kind]} {limit}, got {got}"
    if kind == "string_too_short":
        n = ctx.get("min_length")
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in ("too_short", "too_long"):
        bound = "at least" if kind == "too_short" else "at most"
        limit = ctx.get("min_length", ctx.get("max_length"))
        return f"expected {bound} {limit} items, got {ctx.get('actual_length')}"
    text = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return text[:1].lower() + text[1:]


def _contains(value: Any, key: PathKey) -> bool:
    if isinstance(value, Mapping):
        return key in value
    return isinstance(key, int) and isinstance(value, list | tuple) and key < len(value)


def _split_loc(loc: Sequence[PathKey], data: Any, kind: str) -> tuple[list[PathKey], bool]:
    """Separate the real path in ``data`` from pydantic's union-branch tags in ``loc``.

    Returns the path and whether the error is about a mapping's key. A string that
    is not a key of the value at that point (and is not the final, missing or
    unknown field) names a branch such as ``int`` or ``list[str]`` and is dropped.
    """
    path: list[PathKey] = []
    is_key = False
    current = data
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        if key == "[key]":
            is_key = True
        elif _contains(current, key):
            path.append(key)
            current = current[key]
        elif isinstance(key, int) or current is _MISSING or (last and kind == "missing"):
            path.append(key)
            current = _MISSING
    return path, is_key


def _annotation_step(annotation: Any, key: PathKey) -> Any:
    """The annotation of ``annotation[key]``, through Optional, lists and dicts."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return next((a for a in (_annotation_step(arg, key) for arg in args) if a), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(key) if isinstance(key, str) else None
        return field.annotation if field is not None else None
    if origin in (list, Sequence) and args:
        return args[0]
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    return None


def _known_fields(model: type[BaseModel] | None, path: Sequence[PathKey]) -> list[str]:
    annotation: Any = model
    for key in path:
        annotation = _annotation_step(annotation, key)
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return []
    fields = annotation.model_fields
    return [*fields, *(f.alias for f in fields.values() if f.alias)]


def problems_from_errors(
    errors: Sequence[ErrorDetails],
    data: Any,
    base: str = "",
    model: type[BaseModel] | None = None,
    code: str = "shape",
) -> list[Problem]:
    """Turn pydantic errors for ``data`` into problems placed under ``base``.

    Errors at one place from several union branches merge into one problem
    ("expected an integer or a string, got a list"); an unknown field gets a
    "did you mean" when ``model`` is given.
    """
    grouped: dict[tuple[PathKey, ...], list[str]] = {}
    for err in errors:
        path, is_key = _split_loc(err["loc"], data, err["type"])
        key = path[-1] if path else None
        text = _message(err, key)
        if err["type"] == "extra_forbidden" and isinstance(key, str):
            close = difflib.get_close_matches(key, _known_fields(model, path[:-1]), n=1)
            text += f" (did you mean {close[0]!r}?)" if close else ""
        messages = grouped.setdefault(tuple(path), [])
        if text not in messages:
            messages.append(f"invalid key: {text}" if is_key else text)
    problems = []
    for path_key, messages in grouped.items():
        where = format_path(path_key, base)
        problems.append(Problem(where=where, message=_merge(messages), code=code))
    return problems


_EXPECTED_GOT = re.compile(r"expected (.+), got (.+)")


def _merge(messages: list[str]) -> str:
    """``expected a, got x`` + ``expected b, got x`` → ``expected a or b, got x``."""
    if len(messages) == 1:
        return messages[0]
    parts = [m for m in (_EXPECTED_GOT.fullmatch(text) for text in messages) if m]
    if len(parts) == len(messages) and len({p.group(2) for p in parts}) == 1:
        wanted = [p.group(1) for p in parts]
        return f"expected {', '.join(wanted[:-1])} or {wanted[-1]}, got {parts[0].group(2)}"
    return "; ".join(messages)


def _printable(text: str) -> str:
    """``text`` with lone surrogates shown as escapes, so a place can always be sent."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: Nesting a value may have and still be written: JSON writers (pydantic's, orjson)
#: stop at about 255 levels, and a message or document wraps the value in a few more.
MAX_DEPTH = 200


def unencodable_problems(value: Any, base: str = "", limit: int = 20) -> list[Problem]:
    """Every place in ``value`` that no JSON writer takes: text that is not valid
    Unicode (a key or a value), and nesting deeper than :data:`MAX_DEPTH`.

    A lone surrogate (``"\\ud800"``, or what ``surrogateescape`` makes of a file name
    that is not UTF-8) and a deep enough value both pass pydantic's ``Any`` fields,
    but hashing, storing or sending them fails. Called only after a write has failed,
    to say where; the places themselves are kept printable.
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(value, base, 0)]
    while stack and len(problems) < limit:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                message = "text is not valid Unicode (a lone surrogate); it cannot be written"
                problems.append(Problem(where=where, message=message, code="encoding"))
            continue
        if not isinstance(item, Mapping | list | tuple):
            continue
        if depth >= MAX_DEPTH:
            message = f"nested more than {MAX_DEPTH} levels deep; it cannot be written as JSON"
            problems.append(Problem(where=where, message=message, code="encoding"))
        elif isinstance(item, Mapping):
            for key, inner in reversed(list(item.items())):
                name = key if isinstance(key, int) else _printable(str(key))
                place = join_path(where, name)
                if isinstance(key, str) and not _encodable(key):
                    message = "key is not valid Unicode (a lone surrogate); it cannot be written"
                    problems.append(Problem(where=place, message=message, code="encoding"))
                stack.append((inner, place, depth + 1))
        else:
            stack.extend(
                (v, join_path(where, i), depth + 1) for i, v in reversed(list(enumerate(item)))
            )
    return problems


def unwritable_blueprint(blueprint: Any) -> BlueprintError | None:
    """The BlueprintError for a blueprint (a dict) that cannot be written as JSON, naming
    each place, or None when nothing in it is to blame. Every transport raises this one,
    so the error is the same whichever side of a process boundary meets it first."""
    problems = unencodable_problems(blueprint) if isinstance(blueprint, Mapping) else []
    if not problems:
        return None
    return BlueprintError(
        "the blueprint holds values that cannot be written as JSON",
        problems=problems,
        where=problems[0].where,
    )
