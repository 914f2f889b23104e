"""Events: every state transition of an execution, in order.

The state manager gives each execution's events a gap-free ``seq`` starting at 1,
so a consumer that has seen ``seq = n`` asks for ``after_seq = n`` and misses
nothing. The last event of an execution is an ``execution`` event whose status is
terminal; ``events()`` iterators end after it.

:data:`Event` is a union discriminated on ``kind``: :class:`ExecutionEvent` (its
``status`` an :class:`~app.states.ExecutionStatus`), :class:`NodeEvent` (a
:class:`~app.states.NodeStatus`), :class:`LogEvent`, :class:`VariableEvent` and
:class:`CheckpointEvent`. Every variant has the same attributes (``kind``,
``execution_id``, ``seq``, ``ts``, ``node_id``, ``status``, ``attempt``, ``data``)
and the same JSON on the wire as before the split, so older SSE and pipe clients
read it unchanged. What a variant says beyond its status (a node's ``output_size``,
``port`` and ``error``) sits in ``data`` on the wire and is read through typed
properties here, so the wire keeps one shape.

``kind`` is open: later versions add kinds (loop iterations, trigger fires,
stream chunks). A kind this version does not know becomes an :class:`OtherEvent`
instead of failing validation, so a client keeps following and can ignore it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app.errors import ErrorInfo
from app.states import ExecutionStatus, NodeStatus

#: The kinds this version knows; anything else is an :class:`OtherEvent`.
EventKind = Literal["execution", "node", "log", "variable", "checkpoint"]
KNOWN_KINDS: frozenset[str] = frozenset(EventKind.__args__)  # type: ignore[attr-defined]


def _error_of(data: dict[str, Any] | None) -> ErrorInfo | None:
    raw = (data or {}).get("error")
    return ErrorInfo.model_validate(raw) if isinstance(raw, dict) else None


class _EventFields(BaseModel):
    """What every event carries, whatever its kind."""

    # Built on first use: a process that never makes an event (``conductor run`` of a
    # file prints none with --json; the pipe worker before its first run) skips it.
    model_config = ConfigDict(frozen=True, defer_build=True)

    # The wire order; each variant narrows ``kind`` and ``status`` in place.
    execution_id: str
    seq: int
    ts: float
    kind: str
    node_id: str | None = None
    status: str | None = None
    attempt: int | None = None
    data: dict[str, Any] | None = None

    @property
    def is_terminal(self) -> bool:
        """True for the execution's final event (nothing follows it until a resume)."""
        return False


class ExecutionEvent(_EventFields):
    """The execution changed status (``data`` holds the blueprint on ``pending``, the
    error on ``failed``)."""

    kind: Literal["execution"] = "execution"
    status: ExecutionStatus

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def error(self) -> ErrorInfo | None:
        """Why the execution failed, when it did."""
        return _error_of(self.data)


class NodeEvent(_EventFields):
    """A node changed status; terminal ones say how big the output was, the port a
    branch took and the error a failure raised."""

    kind: Literal["node"] = "node"
    node_id: str
    status: NodeStatus

    @property
    def output_size(self) -> int | None:
        """Bytes of the recorded output (items for a spilled list); None before it ends."""
        size = (self.data or {}).get("output_size")
        return size if isinstance(size, int) else None

    @property
    def port(self) -> str | None:
        """The output port a branch node took (``true``, a case name, ...)."""
        port = (self.data or {}).get("port")
        return port if isinstance(port, str) else None

    @property
    def error(self) -> ErrorInfo | None:
        """The error of a failed attempt (``retrying``) or of the node (``failed``)."""
        return _error_of(self.data)


class LogEvent(_EventFields):
    """A node logged a line: ``data`` holds ``level`` and ``message``."""

    kind: Literal["log"] = "log"
    status: None = None

    @property
    def level(self) -> str:
        return str((self.data or {}).get("level", "info"))

    @property
    def message(self) -> str:
        return str((self.data or {}).get("message", ""))


class VariableEvent(_EventFields):
    """A variable was set: ``data`` holds its ``key``."""

    kind: Literal["variable"] = "variable"
    status: None = None


class CheckpointEvent(_EventFields):
    """A checkpoint was taken: ``data`` holds its ``checkpoint_id`` and ``name``."""

    kind: Literal["checkpoint"] = "checkpoint"
    status: None = None


class OtherEvent(_EventFields):
    """An event of a kind this version does not know (from a newer engine): kept
    whole so its ``seq`` still counts, and otherwise for the client to ignore."""

    kind: str
    status: str | None = None


#: The known kinds, told apart by ``kind`` (a tagged union, decoded without Python calls).
KnownEvent = Annotated[
    ExecutionEvent | NodeEvent | LogEvent | VariableEvent | CheckpointEvent,
    Field(discriminator="kind"),
]
#: Any event: a known kind first, else an :class:`OtherEvent` (a newer engine's kind,
#: or a known kind with a state this version does not know).
Event = Annotated[KnownEvent | OtherEvent, Field(union_mode="left_to_right")]

#: The class for each known kind; :func:`make_event` picks from it.
EVENT_CLASSES: dict[str, type[Any]] = {
    "execution": ExecutionEvent,
    "node": NodeEvent,
    "log": LogEvent,
    "variable": VariableEvent,
    "checkpoint": CheckpointEvent,
}

_DEFERRED = ConfigDict(defer_build=True)
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event, config=_DEFERRED)
EVENT_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event], config=_DEFERRED)


def make_event(
    execution_id: str,
    seq: int,
    ts: float,
    kind: str,
    node_id: str | None = None,
    status: str | None = None,
    attempt: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """The event of the right variant for ``kind`` (an OtherEvent for an unknown one)."""
    cls = EVENT_CLASSES.get(kind, OtherEvent)
    event: Event = cls(
        execution_id=execution_id,
        seq=seq,
        ts=ts,
        kind=kind,
        node_id=node_id,
        status=status,
        attempt=attempt,
        data=data,
    )
    return event
