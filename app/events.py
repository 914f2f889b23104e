"""Events: every state transition of an execution, in order.

The state manager gives each execution's events a gap-free ``seq`` starting at 1,
so a consumer that has seen ``seq = n`` asks for ``after_seq = n`` and misses
nothing. The last event of an execution is an ``execution`` event whose status is
terminal; ``events()`` iterators end after it.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

from app.states import ExecutionStatus, NodeStatus

EventKind = Literal["execution", "node", "log", "variable", "checkpoint"]


class Event(BaseModel):
    """One recorded transition.

    ``kind`` says what changed: ``execution`` (``status`` is an ExecutionStatus),
    ``node`` (``node_id`` and a NodeStatus), ``log`` (a node's log line in
    ``data``), ``variable`` and ``checkpoint``.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    execution_id: str
    seq: int
    ts: float
    kind: EventKind
    node_id: str | None = None
    status: str | None = None
    attempt: int | None = None
    data: dict[str, Any] | None = None

    @property
    def is_terminal(self) -> bool:
        """True for the execution's final event (nothing follows it until a resume)."""
        return (
            self.kind == "execution"
            and self.status is not None
            and ExecutionStatus(self.status).is_terminal
        )

    @property
    def node_status(self) -> NodeStatus | None:
        return NodeStatus(self.status) if self.kind == "node" and self.status else None


@functools.cache
def event_list_adapter() -> TypeAdapter[list[Event]]:
    """A validator for a list of events, built on first use rather than at import."""
    return TypeAdapter(list[Event])


def __getattr__(name: str) -> Any:
    """``EVENT_LIST_ADAPTER`` (the former module constant), built on first access."""
    if name == "EVENT_LIST_ADAPTER":
        return event_list_adapter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
