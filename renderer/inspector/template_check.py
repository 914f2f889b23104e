"""What a template in a form field may name, and a quick check of what it does name (no Qt).

Params may use ``{{ inputs.x }}``, ``{{ nodes.<id>.output }}``, ``{{ input }}``,
``{{ vars.k }}`` and ``{{ execution.id }}``. The inspector shows the names in scope
as a hint and flags a syntax error or an unknown name as the user types, long
before the engine's validation would; the engine's check stays the authority.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import TemplateError
from app.template_refs import template_references
from app.templates import KNOWN_NAMES, is_template

_ORDER = ("inputs", "nodes", "input", "vars", "execution")


@dataclass(frozen=True)
class TemplateScope:
    """The names a node's templates can reach: blueprint inputs, other nodes, vars."""

    inputs: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    vars: tuple[str, ...] = ()

    def examples(self, limit: int = 2) -> list[str]:
        """Ready-to-type examples, e.g. ``{{ inputs.url }}``, ``{{ nodes.fetch.output }}``."""
        found = [f"{{{{ inputs.{name} }}}}" for name in self.inputs[:limit]]
        found += [f"{{{{ nodes.{name}.output }}}}" for name in self.nodes[:limit]]
        found.append("{{ input }}")
        found += [f"{{{{ vars.{name} }}}}" for name in self.vars[:limit]]
        found.append("{{ execution.id }}")
        return found

    def names(self) -> list[str]:
        """Every dotted name a template can start with here (for autocomplete)."""
        found = ["input", "execution.id", "execution.blueprint_id"]
        found += [f"inputs.{name}" for name in self.inputs]
        for name in self.nodes:
            found += [f"nodes.{name}.output", f"nodes.{name}.status", f"nodes.{name}.port"]
        found += [f"vars.{name}" for name in self.vars]
        return found

    def hint(self) -> str:
        """One line for the form: the names in scope."""
        parts = [
            "inputs" + (f" ({', '.join(self.inputs)})" if self.inputs else ""),
            "nodes" + (f" ({', '.join(self.nodes)})" if self.nodes else ""),
            "input",
            "vars" + (f" ({', '.join(self.vars)})" if self.vars else ""),
            "execution",
        ]
        return "Templates {{ … }} may use: " + " · ".join(parts)


def _did_you_mean(name: str, pool: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(pool), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class TemplateIssue:
    """A problem in a template: an error (syntax) blocks the edit, a warning does not."""

    message: str
    is_error: bool


def check_template(text: str, scope: TemplateScope) -> TemplateIssue | None:
    """What is wrong with the templates in ``text``, or None.

    A syntax error is an error (the value would never render); a name out of scope
    is a warning, since the user may be about to add that input or node.
    """
    if not is_template(text):
        return None
    try:
        refs = template_references(text)
    except TemplateError as exc:
        return TemplateIssue(exc.message, True)
    unknown = sorted(refs.names - KNOWN_NAMES)
    if unknown:
        name = unknown[0]
        listed = ", ".join(_ORDER)
        return TemplateIssue(
            f"unknown name {name!r} (in scope: {listed}){_did_you_mean(name, _ORDER)}", False
        )
    for chain in refs.nodes:
        node = str(chain[0])
        if node not in scope.nodes:
            listed = ", ".join(scope.nodes) or "none"
            hint = _did_you_mean(node, scope.nodes)
            return TemplateIssue(f"no node {node!r} (nodes: {listed}){hint}", False)
    for chain in refs.inputs:
        name = str(chain[0])
        if name not in scope.inputs:
            listed = ", ".join(scope.inputs) or "none declared"
            hint = _did_you_mean(name, scope.inputs)
            return TemplateIssue(f"no input {name!r} (inputs: {listed}){hint}", False)
    return None
