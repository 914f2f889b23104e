"""Why an edit was refused: typed errors the canvas and inspector can show as they are.

An edit that would break the blueprint's shape (a duplicate id, a cycle, a port the
node does not have) is refused *before* anything changes, so a command never
half-applies and the undo stack never holds an edit that cannot be replayed.
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import ConductorError, Problem


class EditError(ConductorError):
    """An edit to the blueprint was refused; ``problems`` carry the places when known."""

    type_name = "EditError"

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        node_id: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message, where=where, node_id=node_id)
        self.problems = list(problems or [])


class EdgeRefusal(StrEnum):
    """Why a connection was refused."""

    #: An edge from a node to itself.
    SELF_LOOP = "self_loop"
    #: The same source, target and port are already connected.
    DUPLICATE = "duplicate"
    #: The target already reaches the source, so the edge would close a loop.
    CYCLE = "cycle"
    #: The source or target is not in the blueprint.
    UNKNOWN_NODE = "unknown_node"
    #: The source node has no output port of that name.
    UNKNOWN_PORT = "unknown_port"


class EdgeRefusedError(EditError):
    """A connection the graph rules refuse; ``reason`` says which rule."""

    type_name = "EdgeRefusedError"

    def __init__(self, message: str, reason: EdgeRefusal, *, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.reason = reason
