"""What the monitor shows, as plain Python: the latest state of each execution.

Events arrive far faster than anyone can read them (a fan-out of 10,000 nodes sends
tens of thousands), so the monitor keeps **only the latest state per node** and a
bounded tail of the log, and remembers which executions changed since the last
repaint. The Qt side asks :meth:`MonitorModel.take_dirty` on a timer and repaints
those — the way Textual's ``can_replace`` lets a newer message for the same target
replace an older one that was never shown.

No Qt here, so the coalescing is tested without a window.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.errors import ErrorInfo
from app.events import Event, ExecutionEvent, LogEvent, NodeEvent
from app.results import ExecutionResult
from app.states import ExecutionStatus, NodeReason, NodeStatus

#: Events kept per execution for the log view (older ones drop off the front).
LOG_LIMIT = 2000
#: Node states of a node that had started and not ended.
_UNDER_WAY = frozenset({NodeStatus.RUNNING, NodeStatus.RETRYING})
#: End states only a node that started can reach.
_RAN = frozenset({NodeStatus.COMPLETED, NodeStatus.FAILED})


@dataclass
class NodeRow:
    """One node's latest state in one execution."""

    node_id: str
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    output_size: int | None = None
    port: str | None = None
    error: str | None = None
    #: The failure as recorded (type, message, where, traceback), for the data view.
    error_info: dict[str, Any] | None = None
    #: Why it ended without running (:class:`~app.states.NodeReason`: pinned, disabled…).
    reason: str | None = None
    #: Items a streaming node has put out so far (its progress notes), while it runs.
    items_so_far: int | None = None

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass
class ExecutionView:
    """One execution as the monitor shows it: status, clock, nodes and a log tail."""

    execution_id: str
    blueprint_id: str = ""
    status: ExecutionStatus = ExecutionStatus.PENDING
    started_at: float | None = None
    finished_at: float | None = None
    last_seq: int = 0
    nodes: dict[str, NodeRow] = field(default_factory=dict)
    log: deque[Event] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    events_seen: int = 0
    #: Events jumped over to keep up with a flood (their states arrived as a snapshot).
    skipped: int = 0
    #: Bumped when older events were put into ``log`` (a gap read back from the store).
    log_version: int = 0
    #: The error handler run this failed execution started, or (on a handler run)
    #: the failed execution it handles.
    error_handler_execution: str | None = None
    handler_for: str | None = None

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since it started; frozen once it finished."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else (now or time.time())
        return max(0.0, end - self.started_at)

    def row(self, node_id: str) -> NodeRow:
        found = self.nodes.get(node_id)
        if found is None:
            found = self.nodes[node_id] = NodeRow(node_id)
        return found


def _error_text(error: ErrorInfo) -> str:
    return f"{error.type}: {error.message}" if error.type else error.message


class MonitorModel:
    """Latest state of every execution the window follows (see the module doc)."""

    def __init__(self) -> None:
        self._executions: dict[str, ExecutionView] = {}
        self._dirty: set[str] = set()

    def execution(self, execution_id: str) -> ExecutionView | None:
        return self._executions.get(execution_id)

    def ensure(self, execution_id: str, blueprint_id: str = "") -> ExecutionView:
        view = self._executions.get(execution_id)
        if view is None:
            view = self._executions[execution_id] = ExecutionView(execution_id, blueprint_id)
            self._dirty.add(execution_id)
        elif blueprint_id and not view.blueprint_id:
            view.blueprint_id = blueprint_id
        return view

    def adopt(self, view: ExecutionView) -> ExecutionView:
        """Fold further events into ``view`` (time travel starts from a snapshot)."""
        self._executions[view.execution_id] = view
        return view

    def seed_nodes(self, execution_id: str, node_ids: list[str]) -> None:
        """Show every node as pending before its first event, in blueprint order."""
        view = self.ensure(execution_id)
        for node_id in node_ids:
            view.row(node_id)
        self._dirty.add(execution_id)

    def apply(self, event: Event) -> None:
        """Fold one event into the latest state; O(1), never touches Qt."""
        view = self.ensure(event.execution_id)
        if event.seq <= view.last_seq:
            return  # a replay after a resume repeats what we already hold
        view.last_seq = event.seq
        view.events_seen += 1
        view.log.append(event)
        self._dirty.add(event.execution_id)
        match event:
            case ExecutionEvent():
                view.status = event.status
                if event.status is ExecutionStatus.RUNNING:
                    view.started_at = view.started_at or event.ts
                    view.finished_at = None
                elif event.is_terminal:
                    view.finished_at = event.ts
                    handler = (event.data or {}).get("error_handler_execution")
                    if isinstance(handler, str):
                        view.error_handler_execution = handler
            case NodeEvent():
                self._apply_node(view.row(event.node_id), event)
            case LogEvent(node_id=str(node_id), data={"items": int(items)}):
                view.row(node_id).items_so_far = items  # a stream's progress note
            case _:
                pass  # logs stay in the tail; kinds this version does not know are skipped

    @staticmethod
    def _apply_node(row: NodeRow, event: NodeEvent) -> None:
        row.status = event.status
        if event.attempt:
            row.attempts = max(row.attempts, event.attempt)
        if event.status is NodeStatus.RUNNING:
            if row.started_at is None:
                row.started_at = event.ts
            row.finished_at = None
        elif event.status.is_terminal:
            row.finished_at = event.ts
            # Skipped and cancelled nodes may never have started: no start, no duration
            # (a never-started node showed "cancelled · 0 ms").
            if row.started_at is None and event.status in _RAN:
                row.started_at = event.ts
        if event.output_size is not None:
            row.output_size = event.output_size
        if event.port is not None:
            row.port = event.port
        if event.status.is_terminal:
            reason = (event.data or {}).get("reason")
            row.reason = reason if isinstance(reason, str) else None
        error = event.error
        if error is not None:
            row.error = _error_text(error)
            row.error_info = (event.data or {})["error"]  # as recorded, for the data view

    def load_result(self, result: ExecutionResult) -> ExecutionView:
        """Replace what we hold with a recorded execution (history, after a restart)."""
        view = self.ensure(result.execution_id, result.blueprint_id)
        view.blueprint_id = result.blueprint_id
        view.status = result.status
        view.started_at = result.started_at or result.created_at
        view.finished_at = result.finished_at
        view.error_handler_execution = result.error_handler_execution_id
        view.handler_for = result.handler_for
        pinned = result.config.get("pins") or {} if result.config.get("use_pins") else {}
        for node_id, node in result.nodes.items():
            row = view.row(node_id)
            if (
                result.status is ExecutionStatus.INTERRUPTED
                and node.status is NodeStatus.PENDING
                and row.status in _UNDER_WAY
            ):
                continue  # the store lost the start (batched writes); what we saw is truer
            row.status = node.status
            row.attempts = node.attempts
            row.started_at = node.started_at or row.started_at
            row.finished_at = node.finished_at or row.finished_at
            row.port = node.port
            if node.status is NodeStatus.COMPLETED and node_id in pinned:
                row.reason = NodeReason.PINNED.value
            if node.error is not None:
                row.error = f"{node.error.type}: {node.error.message}"
                # For the Data tab too: after a catch-up skipped the failure's event, a
                # failed node's error was missing there.
                row.error_info = node.error.model_dump(mode="json")
        self._dirty.add(result.execution_id)
        return view

    def skip_to(self, execution_id: str, last_seq: int, skipped: int) -> None:
        """Continue from ``last_seq`` after a catch-up; the log tail notes the gap."""
        view = self.ensure(execution_id)
        if last_seq > view.last_seq:
            view.last_seq = last_seq
            view.events_seen += skipped
            view.skipped += skipped
        self._dirty.add(execution_id)

    def fill_log(self, execution_id: str, events: list[Event]) -> None:
        """Put events a catch-up skipped into the log tail, in order."""
        view = self.ensure(execution_id)
        known = {event.seq for event in view.log}
        new = [event for event in events if event.seq not in known]
        if not new:
            return
        merged = sorted([*view.log, *new], key=lambda event: event.seq)
        view.log = deque(merged[-LOG_LIMIT:], maxlen=LOG_LIMIT)
        view.skipped = max(0, view.skipped - len(new))
        view.log_version += 1
        self._dirty.add(execution_id)

    def mark_dirty(self, execution_id: str) -> None:
        """Ask for a repaint of this execution (its state was changed from outside)."""
        self._dirty.add(execution_id)

    def take_dirty(self) -> set[str]:
        """The executions changed since the last call (and forget them)."""
        dirty, self._dirty = self._dirty, set()
        return dirty
