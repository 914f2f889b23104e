"""What a template refers to: its free names and the constant key chains it reads.

Validation uses this to report ``{{ nodes.nope.output }}`` before anything runs, and
the editor to check a field as it is typed. Kept apart from rendering
(:mod:`app.templates`) because it walks Jinja2's syntax tree and never renders.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.templates import _compile, _environment, _syntax_error

if TYPE_CHECKING:
    from jinja2 import nodes as jnodes

__all__ = ["Chain", "TemplateRefs", "template_references"]

Chain = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class TemplateRefs:
    """What a template refers to, for validation before anything runs.

    ``names`` are the free top-level names (Jinja globals such as ``range`` left out);
    ``nodes``, ``inputs`` and ``secrets`` hold the constant key chains read under those names,
    e.g. ``("fetch", "output")`` for ``nodes.fetch.output``. A dynamic key
    (``nodes[name]``) ends a chain, so only its constant prefix is kept.
    """

    names: frozenset[str]
    nodes: tuple[Chain, ...]
    inputs: tuple[Chain, ...]
    #: Chains under ``secrets`` (``("TOKEN",)`` for ``secrets.TOKEN``).
    secrets: tuple[Chain, ...] = ()


def _chains(ast: jnodes.Template, root: str) -> tuple[Chain, ...]:
    from jinja2 import nodes

    methods = {
        id(call.node) for call in ast.find_all(nodes.Call) if isinstance(call.node, nodes.Getattr)
    }
    found: set[Chain] = set()
    for start in ast.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(start, nodes.Getattr | nodes.Getitem)
        node: nodes.Node = start.node if id(start) in methods else start
        keys: list[str | int] = []
        while isinstance(node, nodes.Getattr | nodes.Getitem):
            if isinstance(node, nodes.Getattr):
                keys.append(node.attr)
            elif isinstance(node.arg, nodes.Const) and type(node.arg.value) in (str, int):
                keys.append(node.arg.value)
            else:
                keys.clear()
            node = node.node
        if isinstance(node, nodes.Name) and node.name == root and keys:
            found.add(tuple(reversed(keys)))
    return tuple(
        sorted(
            (c for c in found if not any(o[: len(c)] == c and o != c for o in found)),
            key=repr,
        )
    )


@functools.lru_cache(maxsize=4096)
def _references(source: str) -> TemplateRefs:
    from jinja2 import meta

    compiled = _compile(source)
    env = _environment()
    names = frozenset(meta.find_undeclared_variables(compiled.ast)) - set(env.globals)
    return TemplateRefs(
        names=names,
        nodes=_chains(compiled.ast, "nodes") if "nodes" in names else (),
        inputs=_chains(compiled.ast, "inputs") if "inputs" in names else (),
        secrets=_chains(compiled.ast, "secrets") if "secrets" in names else (),
    )


def template_references(source: str, where: str = "") -> TemplateRefs:
    """The names and node/input chains ``source`` uses; TemplateError on bad syntax."""
    from jinja2.exceptions import TemplateSyntaxError

    try:
        return _references(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(source, where, exc) from exc
