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

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from app.blueprint import Blueprint
from app.errors import BlueprintError, Problem
from app.shape_problems import PathKey, format_path, problems_from_errors, show_value

if TYPE_CHECKING:
    import yaml

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
_NOT_A_MAPPING = "a blueprint must be a mapping at the top level, got "
_SUFFIXES: dict[str, Format] = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def _invalid(source: str, problems: list[Problem]) -> BlueprintError:
    n = len(problems)
    return BlueprintError(
        f"invalid blueprint: {n} problem{'s' if n != 1 else ''}", where=source, problems=problems
    )


def parse_blueprint_data(data: Any, source: str = "<blueprint>") -> Blueprint:
    """Validate a loaded document's shape; BlueprintError lists every problem found."""
    if not isinstance(data, Mapping):
        raise _syntax(
            source, f"a blueprint must be a mapping at the top level, got {show_value(data)}"
        )
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


#: How many values a YAML document may stand for once its aliases are expanded. An
#: alias shares its target, so a small file can stand for billions of values ("billion
#: laughs"); every later walk of the data (validation, hashing, JSON) would expand them.
MAX_YAML_VALUES = 1_000_000


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """How many values ``root`` stands for with every alias expanded (stops past ``limit``).

    Each distinct node is sized once (children before parents), so this is linear in
    the composed tree even when the expansion is exponential. A node that contains
    itself counts once; :func:`_tree_problems` reports it.
    """
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes and not children_done:
            continue
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            sizes[key] = 1
            continue
        if not children_done:
            sizes[key] = 1  # provisional: a self-containing alias sees its node as one value
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        sizes[key] = min(limit + 1, 1 + sum(sizes.get(id(child), 1) for child in children))
    return sizes[id(root)]


#: The longest reading one YAML document may take (seconds). libyaml reads a megabyte of
#: ordinary blueprint in about a tenth of a second; a document that takes longer is
#: refused rather than left to hold a validation, a run or the server.
YAML_TIME_BUDGET = 5.0


def _load_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:

    from app.evaluation_limits import EvaluationTimeout, TimeLimit

    loader = _yaml_loader()(text)
    try:
        with TimeLimit(YAML_TIME_BUDGET):
            return _read_yaml(loader, source)
    except EvaluationTimeout:
        raise _syntax(
            source, f"reading the YAML document took longer than {YAML_TIME_BUDGET:g} s"
        ) from None
    finally:
        loader.dispose()


def _read_yaml(loader: yaml.SafeLoader, source: str) -> tuple[Any, yaml.Node | None]:
    import yaml

    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, MAX_YAML_VALUES) > MAX_YAML_VALUES:
            raise _syntax(
                source,
                f"the YAML document's aliases expand to more than {MAX_YAML_VALUES:,} "
                "values; write the values out or use fewer aliases",
            )
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" on line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise _syntax(source, f"invalid YAML{where}: {detail}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise _syntax(source, f"invalid YAML: {exc}") from None


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
        raise _syntax(
            source, f"a blueprint must be a mapping at the top level, got {show_value(data)}"
        )
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
