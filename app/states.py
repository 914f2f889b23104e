"""Execution and node states.

These strings are a contract: they travel on the wire, sit in the store and are
matched by scripts. Never rename a member's value.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """Lifecycle of one execution.

    ``pending → running → completed | failed | cancelled``; ``paused`` (asked to
    start no new node; not terminal, ``resume`` continues it); ``interrupted`` means
    the process that ran it died before it finished (it can be resumed).
    """

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def is_terminal(self) -> bool:
        """True once nothing more will happen without an explicit resume."""
        return self in _TERMINAL_EXECUTION


class NodeStatus(StrEnum):
    """Lifecycle of one node within an execution.

    ``pending → running → completed | failed | cancelled | skipped``; ``retrying``
    sits between attempts.
    """

    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        """True when the node will not run again in this execution."""
        return self in _TERMINAL_NODE


_TERMINAL_EXECUTION = frozenset(
    {
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.INTERRUPTED,
    }
)
_TERMINAL_NODE = frozenset(
    {NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.CANCELLED, NodeStatus.SKIPPED}
)
