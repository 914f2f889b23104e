"""Typed failures of ``blueprint.call`` and ``loop`` nodes (issue 13)."""

from __future__ import annotations

from app.errors import NodeFailedError


class SubflowRecursionError(NodeFailedError):
    """A child execution would call a blueprint already running above it, or nest
    deeper than the ``subflow_depth`` limit (seen at run time: a templated id)."""

    type_name = "SubflowRecursionError"


class ChildExecutionError(NodeFailedError):
    """The child execution a ``blueprint.call`` node waited for did not complete."""

    type_name = "ChildExecutionError"


class LoopItemsError(NodeFailedError):
    """A ``loop`` node's ``items`` is not a list."""

    type_name = "LoopItemsError"


class LoopIterationError(NodeFailedError):
    """An iteration of a ``loop`` node failed (``on_item_error: fail``)."""

    type_name = "LoopIterationError"
