"""Reading and writing blueprint documents (JSON or YAML), with errors a person can act on.

Every way a file can be wrong ends in one :class:`~app.errors.BlueprintError` whose
``where`` is the file and whose problems each carry a place such as
``nodes[2].params.url`` — with ``(line 14)`` appended when the text is at hand — and a
plain-language message instead of pydantic's dump. Shape is checked here; meaning
(ids, types, edges, templates) in :mod:`app.validation`.

Assumptions: a blueprint is small enough to read whole; JSON is parsed by the
standard library (exact numbers, line and column in errors) and, only when a line
number is wanted, composed again as YAML, which accepts nearly all JSON. Duplicate
keys, which both parsers would silently collapse to the last one, are reported.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from app.blueprint import Blueprint
from app.errors import BlueprintError, Problem
from app.templates import join_path

if TYPE_CHECKING:
    import yaml
    from pydantic_core import ErrorDetails

__all__ = [
    "dump_blueprint",
    "format_path",
    "load_blueprint_file",
    "load_blueprint_text",
    "parse_blueprint_data",
    "problems_from_errors",
    "with_line_numbers",
]

Format = Literal["json", "yaml"]
PathKey = str | int
_MISSING = object()
_SUFFIXES: dict[str, Format] = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def format_path(path: Sequence[Any], base: str = "") -> str:
    """``("nodes", 2, "params", "url")`` → ``nodes[2].params.url``."""
    where = base
    for key in path:
        where = join_path(where, key if isinstance(key, int | str) else str(key))
    return where


def _show(value: Any) -> str:
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
    kind, ctx, got = err["type"], err.get("ctx") or {}, _show(err.get("input"))
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


def _invalid(source: str, problems: list[Problem]) -> BlueprintError:
    n = len(problems)
    return BlueprintError(
        f"invalid blueprint: {n} problem{'s' if n != 1 else ''}", where=source, problems=problems
    )


def parse_blueprint_data(data: Any, source: str = "<blueprint>") -> Blueprint:
    """Validate a loaded document's shape; BlueprintError lists every problem found."""
    if not isinstance(data, Mapping):
        raise _syntax(source, f"a blueprint must be a mapping at the top level, got {_show(data)}")
    try:
        return Blueprint.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_errors(exc.errors(include_url=False), data, model=Blueprint)
        raise _invalid(source, problems) from None
    except (RecursionError, TypeError, ValueError) as exc:
        raise _syntax(source, f"cannot read the blueprint: {exc}") from None


def _yaml_loader() -> type[yaml.SafeLoader]:
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (line marks), or None when it does not parse."""
    import yaml

    try:
        return yaml.compose(text, Loader=_yaml_loader())
    except (yaml.YAMLError, RecursionError):
        return None


def _key_line(node: yaml.Node, path: Sequence[PathKey]) -> int:
    """1-based line of the deepest node on ``path`` (the key's line for a mapping entry)."""
    import yaml

    line = node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            matches = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(key)]
            if not matches:
                break
            key_node, node = matches[-1]
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def _parse_path(where: str) -> list[PathKey] | None:
    path: list[PathKey] = []
    pos = 0
    while pos < len(where):
        match = _PATH_PART.match(where, pos)
        if match is None:
            return None
        name, index, quoted = match.groups()
        path.append(int(index) if index is not None else name or re.sub(r"\\(.)", r"\1", quoted))
        pos = match.end()
    return path


def with_line_numbers(problems: Sequence[Problem], text: str) -> list[Problem]:
    """Append ``(line N)`` to each problem whose place can be found in ``text``."""
    root = _compose(text) if problems else None
    if root is None:
        return list(problems)
    out = []
    for problem in problems:
        path = _parse_path(problem.where) if problem.where else None
        if path is None:
            out.append(problem)
        else:
            where = f"{problem.where} (line {_key_line(root, path)})"
            out.append(problem.model_copy(update={"where": where}))
    return out


def _tree_problems(root: yaml.Node) -> list[Problem]:
    """Duplicate keys and self-containing aliases in a composed document."""
    import yaml

    def problem(path: list[PathKey], node: yaml.Node, message: str) -> Problem:
        where = f"{format_path(path)} (line {node.start_mark.line + 1})"
        return Problem(where=where, message=message, code="syntax")

    problems: list[Problem] = []
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, list[PathKey], bool]] = [(root, [], False)]
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            problems.append(problem(path, node, "alias contains itself"))
            continue
        on_path.add(id(node))
        stack.append((node, path, True))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value in node.value:
                key = str(getattr(key_node, "value", ""))
                if key in seen:
                    problems.append(problem([*path, key], key_node, f"duplicate key {key!r}"))
                seen.add(key)
                stack.append((value, [*path, key], False))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, [*path, i], False) for i, item in enumerate(node.value))
    return problems


def _syntax(source: str, message: str) -> BlueprintError:
    problem = Problem(where="", message=message, code="syntax")
    return BlueprintError(message, where=source, problems=[problem])


def _load_json(text: str, source: str) -> tuple[Any, bool]:
    duplicated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicated
        result = dict(items)
        duplicated = duplicated or len(result) != len(items)
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs), duplicated
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise _syntax(source, f"invalid JSON on {where}: {exc.msg}") from None
    except (RecursionError, ValueError) as exc:
        raise _syntax(source, f"invalid JSON: {exc}") from None


def _load_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    import yaml

    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" on line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise _syntax(source, f"invalid YAML{where}: {detail}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise _syntax(source, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _load(text: str, source: str, fmt: Format | None) -> tuple[Any, list[Problem]]:
    """The document's data and its duplicate-key/alias problems."""
    if fmt is None:
        try:
            return _load(text, source, "json")
        except BlueprintError as json_error:
            try:
                return _load(text, source, "yaml")
            except BlueprintError:
                if text.lstrip().startswith(("{", "[")):
                    raise json_error from None
                raise
    if fmt == "yaml":
        data, tree = _load_yaml(text, source)
        return data, _tree_problems(tree) if tree is not None else []
    data, duplicated = _load_json(text, source)
    if not duplicated:
        return data, []
    tree = _compose(text)
    if tree is None:
        return data, [Problem(where="", message="the document repeats a key", code="syntax")]
    return data, _tree_problems(tree)


def load_blueprint_text(text: str, source: str, fmt: Format | None = None) -> Blueprint:
    """Parse and shape-check a blueprint document; ``fmt=None`` tries JSON, then YAML."""
    if not text.strip():
        raise _syntax(source, "the file is empty")
    data, problems = _load(text, source, fmt)
    if not isinstance(data, Mapping):
        raise _syntax(source, f"a blueprint must be a mapping at the top level, got {_show(data)}")
    try:
        blueprint = parse_blueprint_data(data, source)
    except BlueprintError as exc:
        raise _invalid(source, problems + with_line_numbers(exc.problems, text)) from None
    if problems:
        raise _invalid(source, problems)
    return blueprint


def load_blueprint_file(path: Path) -> Blueprint:
    """Read a ``.json``/``.yaml``/``.yml`` file (other suffixes: JSON, then YAML)."""
    source = str(path)
    if path.is_dir():
        raise _syntax(source, "is a directory, not a blueprint file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _syntax(source, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise _syntax(source, f"not UTF-8 text (byte 0x{bad} at offset {exc.start})") from None
    return load_blueprint_text(text, source, _SUFFIXES.get(path.suffix.lower()))


def dump_blueprint(bp: Blueprint, fmt: Format = "json") -> str:
    """The document to save: defaults left out, fields in model order, newline-terminated."""
    data = bp.model_dump(mode="json", exclude_defaults=True)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
