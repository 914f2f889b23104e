"""Blueprint ids: the one rule an id follows, and the ids a blueprint refers to.

An id is data that names a file in the library (``blueprints/<id>.json``), so the
rule keeps it from ever being a path: letters, digits, ``_``, ``-`` and ``.``, at
most 200 characters, not starting with a dot and never holding ``..``. The library,
the HTTP routes (URL and body) and the app's Save dialog all check this one rule.

A blueprint may name another blueprint: a sub-blueprint call node names the one it
runs. No built-in node type does so yet; :data:`REFERENCING_PARAMS` lists the node
types that will (``blueprint.call`` with its ``blueprint_id`` param, as the design
plans), so renaming or deleting a blueprint that another one calls is refused from
the day such a node type is registered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.blueprint import Blueprint

#: The longest id (the rule below allows 1 + 199 characters).
MAX_ID_LENGTH = 200

_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}\Z")

#: The rule in words, for messages next to an id field.
ID_RULE = "letters, digits, '_', '-' and '.' (at most 200, not starting with '.', no '..')"

#: Node type → the params that hold the id of a blueprint the node runs.
REFERENCING_PARAMS: Mapping[str, tuple[str, ...]] = {
    "blueprint.call": ("blueprint_id",),
    "loop": ("body",),
}


def id_problem(blueprint_id: str) -> str | None:
    """Why ``blueprint_id`` is not a valid id, or None when it is."""
    if not blueprint_id:
        return "the id is empty"
    if not _SAFE_ID.match(blueprint_id) or ".." in blueprint_id:
        return f"{blueprint_id!r} is not a valid blueprint id ({ID_RULE})"
    return None


def referenced_ids(blueprint: Blueprint) -> set[str]:
    """The ids of the blueprints that ``blueprint``'s nodes run, and its error handler."""
    found: set[str] = {blueprint.error_handler} if blueprint.error_handler else set()
    for node in blueprint.nodes:
        for param in REFERENCING_PARAMS.get(node.type, ()):
            value = node.params.get(param)
            if isinstance(value, str) and value:
                found.add(value)
    return found
