"""Execution and node states.

These strings are a contract: they travel on the wire, sit in the store and are
matched by scripts. Never rename a member's value.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """Lifecycle of one execution.

    ``pending → running → completed | failed | cancelled``; ``paused`` (asked to start
    no new node; not terminal, resumed in place or, after its process stopped, like
    an interrupted one); ``interrupted`` means the process that ran it died before it
    finished (it can be resumed).
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


class NodeReason(StrEnum):
    """Why a node ended without running, in its terminal event's ``data["reason"]``.

    ``pinned``: it ended ``completed`` with its pinned output (``use_pins``);
    ``disabled``: ``skipped``, its input passed through; ``not_in_run``: ``skipped``,
    a partial run (``only``/``stop_after``) left it out; ``given_input``: ``completed``
    with the ``node_input`` a lone node's run was given.
    """

    PINNED = "pinned"
    GIVEN_INPUT = "given_input"
    DISABLED = "disabled"
    NOT_IN_RUN = "not_in_run"


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
