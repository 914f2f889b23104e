"""Time travel's model: any moment of a run, rebuilt from its recorded events.

Events are folded once, in order, as their pages arrive (the same fold the live
monitor uses, :class:`~renderer.monitor.monitor_model.MonitorModel`), keeping:

* a **snapshot** of the execution's state every ``interval`` events (node rows
  only — small), so any moment is the nearest snapshot plus at most ``interval``
  events, fetched again as one page; and
* a **compact index** of every event (a timestamp, a node number, a status code:
  13 bytes an event), enough to label a position and to step by node without
  holding 100,000 event models in memory.

No Qt here: the scrubber's position → state is tested without a window.
"""

from __future__ import annotations

import bisect
import dataclasses
from array import array
from collections.abc import Sequence

from app.events import Event, ExecutionEvent, NodeEvent
from app.states import ExecutionStatus, NodeStatus
from renderer.monitor.monitor_model import ExecutionView, MonitorModel

#: Events between snapshots for a small blueprint (grows with the node count, so the
#: snapshots of a 10,000-node blueprint stay as small in total as a 100-node one's).
BASE_INTERVAL = 256
#: Index codes of statuses (execution and node statuses share the code space).
_STATUSES: tuple[str, ...] = (
    "",
    *(s.value for s in ExecutionStatus),
    *(s.value for s in NodeStatus if s.value not in {e.value for e in ExecutionStatus}),
)
_CODE = {name: code for code, name in enumerate(_STATUSES)}
_NONE = -1
_TERMINAL_NODE = frozenset(_CODE[s.value] for s in NodeStatus if s.is_terminal)


def copy_view(view: ExecutionView) -> ExecutionView:
    """A copy whose node rows can be folded into without touching ``view`` (no log)."""
    nodes = {node_id: dataclasses.replace(row) for node_id, row in view.nodes.items()}
    return dataclasses.replace(view, nodes=nodes, log=type(view.log)(maxlen=view.log.maxlen))


class Replay:
    """One execution's event log, indexed for showing any position (see the module).

    Position ``seq`` means "just after event ``seq``"; 0 is before the first event.
    """

    def __init__(
        self,
        execution_id: str,
        blueprint_id: str = "",
        node_ids: Sequence[str] = (),
        interval: int | None = None,
    ) -> None:
        self.execution_id = execution_id
        self._fold = MonitorModel()
        self._fold.ensure(execution_id, blueprint_id)
        self._fold.seed_nodes(execution_id, list(node_ids))
        self.interval = interval or BASE_INTERVAL * max(1, -(-len(node_ids) // 64))
        start = self._view()
        self._snapshot_seqs: list[int] = [0]
        self._snapshots: list[ExecutionView] = [copy_view(start)]
        self._times = array("d")
        self._node_of = array("i")
        self._status_of = array("b")
        self._node_names: list[str] = []
        self._node_number: dict[str, int] = {}

    def _view(self) -> ExecutionView:
        view = self._fold.execution(self.execution_id)
        assert view is not None
        return view

    @property
    def indexed(self) -> int:
        """The last seq folded in: positions ``0 .. indexed`` can be shown."""
        return len(self._times)

    def feed(self, events: Sequence[Event]) -> int:
        """Fold the next events in (a page); those already folded are skipped.

        Returns how many were new. Raises ValueError on a gap (the log is gap-free,
        so a gap means pages were fed out of order).
        """
        new = 0
        for event in events:
            if event.seq <= self.indexed:
                continue
            if event.seq != self.indexed + 1:
                raise ValueError(f"event {event.seq} after {self.indexed}: pages out of order")
            self._fold.apply(event)
            self._index(event)
            new += 1
            if event.seq % self.interval == 0:
                self._snapshot_seqs.append(event.seq)
                self._snapshots.append(copy_view(self._view()))
        self._view().log.clear()  # the fold's log tail is never shown; keep it empty
        return new

    def _index(self, event: Event) -> None:
        self._times.append(event.ts or 0.0)
        node_id = event.node_id if isinstance(event, NodeEvent) else None
        if node_id is None:
            self._node_of.append(_NONE)
        else:
            number = self._node_number.get(node_id)
            if number is None:
                number = self._node_number[node_id] = len(self._node_names)
                self._node_names.append(node_id)
            self._node_of.append(number)
        status = getattr(event, "status", None)
        code = _CODE.get(str(status.value if status is not None else ""), 0)
        self._status_of.append(code if isinstance(event, ExecutionEvent | NodeEvent) else 0)

    def block_for(self, seq: int) -> tuple[int, int]:
        """The events needed to show ``seq``: ``(after, count)`` from its snapshot."""
        seq = self.clamp(seq)
        at = self._snapshot_seqs[bisect.bisect_right(self._snapshot_seqs, seq) - 1]
        return at, seq - at

    def state_at(self, seq: int, events: Sequence[Event]) -> ExecutionView:
        """The execution as it stood just after event ``seq``.

        ``events`` are those after the snapshot :meth:`block_for` names (more is fine:
        events past ``seq`` are ignored), as the ``event_page`` operation returns them.
        """
        seq = self.clamp(seq)
        index = bisect.bisect_right(self._snapshot_seqs, seq) - 1
        start = self._snapshot_seqs[index]
        fold = MonitorModel()
        view = fold.adopt(copy_view(self._snapshots[index]))
        view.last_seq = start
        for event in events:
            if start < event.seq <= seq:
                fold.apply(event)
        if view.last_seq != seq:
            raise ValueError(f"events {start + 1}..{seq} were not all given")
        if view.finished_at is None and seq > 0 and self._times[seq - 1]:
            view.finished_at = self._times[seq - 1]  # the clock stops at that moment
        return view

    def clamp(self, seq: int) -> int:
        return max(0, min(seq, self.indexed))

    def step(self, seq: int, direction: int, *, by_node: bool = False) -> int:
        """The next position forward (``direction`` 1) or back (-1): by one event, or
        (``by_node``) to the next event that ended a node (completed, failed, …)."""
        seq = self.clamp(seq)
        if not by_node:
            return self.clamp(seq + direction)
        position = seq + direction
        while 1 <= position <= self.indexed:
            ended = self._status_of[position - 1] in _TERMINAL_NODE
            if ended and self._node_of[position - 1] != _NONE:
                return position
            position += direction
        return 0 if direction < 0 else self.indexed

    def describe(self, seq: int) -> str:
        """A label for a position: "event 12 of 40 · fetch → completed · +0.125 s"."""
        seq = self.clamp(seq)
        if seq == 0:
            return f"before the first event · {self.indexed:,} recorded"
        parts = [f"event {seq:,} of {self.indexed:,}"]
        number = self._node_of[seq - 1]
        status = _STATUSES[self._status_of[seq - 1]]
        subject = self._node_names[number] if number != _NONE else "execution"
        if status:
            parts.append(f"{subject} → {status}")
        first = self._times[0]
        if first:
            parts.append(f"+{self._times[seq - 1] - first:.3f} s")
        return " · ".join(parts)
