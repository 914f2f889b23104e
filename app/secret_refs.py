"""Which secrets a blueprint reads, and the problem each unset one is.

``{{ secrets.NAME }}`` may stand in any node param (and in ``outputs``). Whether the
secret exists is a fact about the engine process's vault, not about the document,
so it is checked apart from :func:`app.validation.validate_blueprint` and never
cached with a compiled plan: the engine adds these problems when it validates or
starts a blueprint (a secret set a second later makes the same blueprint valid).
A lookup with a dynamic name (``secrets[name]``) cannot be checked here; it fails
at run time with a :class:`~app.errors.SecretNotFoundError` naming the secret.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from app.blueprint import Blueprint
from app.errors import Problem, TemplateError
from app.template_refs import template_references
from app.templates import join_path
from app.validation import _templated_strings

__all__ = ["SecretRef", "missing_secret_problems", "secret_references"]

#: The problem code of an unset secret.
SECRET_MISSING = "secret_missing"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """One ``secrets.NAME`` read: the secret, the field holding it, and its node (None
    for a blueprint output)."""

    name: str
    where: str
    node_id: str | None


def secret_references(blueprint: Blueprint) -> Iterator[SecretRef]:
    """Every constant ``secrets.NAME`` in the node params and outputs, in order."""
    for index, node in enumerate(blueprint.nodes):
        for place, text in _templated_strings(node.params, f"nodes[{index}].params"):
            yield from _refs(text, place, node.id)
    for key, value in (blueprint.outputs or {}).items():
        for place, text in _templated_strings(value, join_path("outputs", str(key))):
            yield from _refs(text, place, None)


def _refs(text: str, place: str, node_id: str | None) -> Iterator[SecretRef]:
    if "secrets" not in text:
        return
    try:
        refs = template_references(text, place)
    except TemplateError:
        return  # a syntax error: validation reports it
    for chain in refs.secrets:
        if isinstance(chain[0], str):
            yield SecretRef(chain[0], place, node_id)


def missing_secret_problems(blueprint: Blueprint, known: Collection[str]) -> list[Problem]:
    """A problem naming the node and field of each reference to a secret not in ``known``."""
    problems = []
    for ref in secret_references(blueprint):
        if ref.name in known:
            continue
        owner = f"node {ref.node_id!r}" if ref.node_id is not None else "blueprint outputs"
        problems.append(
            Problem(
                where=ref.where,
                message=(
                    f"{owner}: secret {ref.name!r} is not set (conductor secrets set {ref.name})"
                ),
                code=SECRET_MISSING,
            )
        )
    return problems
