"""Problems of how values flow between nodes: catch scopes and streams of items.

One entry point for the validator (:mod:`app.validation`), so each kind of flow
check lives in its own module (:mod:`app.catch_scope`, :mod:`app.stream_roles`).
"""

from __future__ import annotations

from app.blueprint import Blueprint
from app.catalog import NodeCatalog
from app.catch_scope import catch_problems
from app.errors import Problem
from app.stream_roles import stream_problems


def flow_problems(blueprint: Blueprint, catalog: NodeCatalog) -> list[Problem]:
    """Catch problems, then streams flowing into nodes that need a whole value."""
    return [*catch_problems(blueprint), *stream_problems(blueprint, catalog)]
