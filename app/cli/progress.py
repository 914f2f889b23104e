"""Progress of a running execution on stderr, fed by its events.

Two views of the same event stream:

* :class:`LiveView` — on a terminal, a table with one row per node (status,
  attempts, time, last error or log line) redrawn in place by ``rich.live``. Events
  only update a per-node record; rich repaints at a fixed rate from the latest
  record, so a burst of thousands of events costs thousands of dict updates, not
  thousands of repaints (Textual's ``can_replace`` idea). rich is imported here
  only when this view is made.
* :class:`LineView` — otherwise (a pipe, a log file, CI), one plain line per event,
  so the output greps and diffs well.

``--json`` runs get no view at all: stdout holds only the JSON document and stderr
stays quiet unless something goes wrong.

A ``paused`` execution is shown as such and followed on: it is not terminal, and a
``resume`` (from here or another process) continues it. Events of kinds this
version does not know are skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from app.cli.output import duration_text
from app.errors import ErrorInfo
from app.events import Event, ExecutionEvent, LogEvent, NodeEvent
from app.states import ExecutionStatus, NodeStatus

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

    from app.results import ExecutionResult


class ProgressView(Protocol):
    """Something that shows an execution while it runs."""

    def begin(self, result: ExecutionResult) -> None:
        """The execution as it stands when following starts (every node, pending)."""

    def event(self, event: Event) -> None:
        """One recorded transition, in ``seq`` order."""

    def end(self) -> None:
        """The execution ended (or following stopped); leave the final state on screen."""


def _error_message(error: ErrorInfo | None) -> str:
    if error is None:
        return ""
    return " ".join(f"{error.type}: {error.message}".split())


class LineView:
    """One plain line per event: ``+0.012s  node  status  detail``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._t0: float | None = None
        self._width = 12
        self._started: dict[str, float] = {}

    def begin(self, result: ExecutionResult) -> None:
        if result.nodes:
            self._width = max(self._width, *(len(n) for n in result.nodes))

    def _write(self, event: Event, subject: str, status: str, detail: str = "") -> None:
        if self._t0 is None:
            self._t0 = event.ts
        offset = f"+{event.ts - self._t0:.3f}s"
        line = f"{offset:>9}  {subject:<{self._width}}  {status:<9}  {detail}".rstrip()
        self._stream.write(line + "\n")
        self._stream.flush()

    def event(self, event: Event) -> None:
        match event:
            case ExecutionEvent():
                self._write(event, "execution", event.status, _error_message(event.error))
            case NodeEvent():
                self._write(event, event.node_id, event.status, self._node_detail(event))
            case LogEvent():
                self._write(event, event.node_id or "-", "log", f"{event.level}: {event.message}")
            case _:
                pass  # variables, checkpoints and kinds this version does not know

    def _node_detail(self, event: NodeEvent) -> str:
        node_id, status = event.node_id, event.status
        if status is NodeStatus.RUNNING:
            self._started.setdefault(node_id, event.ts)
            return f"attempt {event.attempt}" if event.attempt and event.attempt > 1 else ""
        if status is NodeStatus.RETRYING:
            delay = (event.data or {}).get("delay")
            wait = f"; retrying in {delay:.2f} s" if isinstance(delay, int | float) else ""
            return f"attempt {event.attempt} failed: {_error_message(event.error)}{wait}"
        started = self._started.pop(node_id, None)
        took = duration_text((event.ts - started) * 1000) if started is not None else ""
        if status is NodeStatus.FAILED:
            return f"{took}  {_error_message(event.error)}".strip()
        if event.port is not None:
            return f"{took}  port {event.port}".strip()
        return took

    def end(self) -> None:
        self._stream.flush()


@dataclass(slots=True)
class _Row:
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    detail: str = ""


_STYLES: dict[NodeStatus, tuple[str, str]] = {
    NodeStatus.PENDING: ("○", "dim"),
    NodeStatus.RUNNING: ("●", "cyan"),
    NodeStatus.RETRYING: ("↻", "yellow"),
    NodeStatus.COMPLETED: ("✓", "green"),
    NodeStatus.FAILED: ("✗", "red"),
    NodeStatus.CANCELLED: ("■", "magenta"),
    NodeStatus.SKIPPED: ("-", "dim"),
}


class LiveView:
    """A per-node table redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self._title = title
        self._rows: dict[str, _Row] = {}
        self._status = ExecutionStatus.PENDING
        self._t0 = time.time()
        self._t1: float | None = None
        self._console = Console(file=stream, stderr=True)
        self._live: Live = Live(
            console=self._console,
            get_renderable=self._render,
            refresh_per_second=15,
            transient=False,
        )
        self._live.start()

    def begin(self, result: ExecutionResult) -> None:
        for node_id, node in result.nodes.items():
            self._rows.setdefault(
                node_id,
                _Row(
                    status=node.status,
                    attempts=node.attempts,
                    started=node.started_at,
                    finished=node.finished_at,
                ),
            )
        self._status = result.status
        if result.started_at is not None:
            self._t0 = result.started_at

    def event(self, event: Event) -> None:
        match event:
            case ExecutionEvent():
                self._status = event.status
                # Paused is not an end: the clock runs on until the execution ends.
                self._t1 = event.ts if event.is_terminal else None
            case LogEvent() if event.node_id is not None:
                row = self._rows.setdefault(event.node_id, _Row())
                row.detail = f"{event.level}: {event.message}"
            case NodeEvent():
                self._node_event(self._rows.setdefault(event.node_id, _Row()), event)
            case _:
                pass  # variables, checkpoints and kinds this version does not know

    @staticmethod
    def _node_event(row: _Row, event: NodeEvent) -> None:
        row.status = event.status
        row.attempts = event.attempt or row.attempts
        if row.status is NodeStatus.RUNNING:
            if row.started is None:
                row.started = event.ts
            row.finished = None
        elif row.status in (NodeStatus.RETRYING, NodeStatus.FAILED):
            row.detail = _error_message(event.error)
            if row.status is NodeStatus.FAILED:
                row.finished = event.ts
        elif row.status.is_terminal:
            row.finished = event.ts

    def _render(self) -> RenderableType:
        from rich.table import Table
        from rich.text import Text

        now = time.time()
        elapsed = duration_text(((self._t1 or now) - self._t0) * 1000)
        table = Table(
            title=f"{self._title} — {self._status} {elapsed}",
            title_justify="left",
            expand=False,
            box=None,
            pad_edge=False,
        )
        # Fixed widths for all but the detail, which gets what is left of the line: a long
        # error is cut short rather than squeezing the node ids out of the table.
        longest = max((len(node_id) for node_id in self._rows), default=4)
        widths = {"node": min(max(longest, 4), 40), "status": 11, "attempts": 8, "time": 9}
        room = max(self._console.width - sum(widths.values()) - 2 * len(widths), 10)
        for name in ("node", "status", "attempts", "time"):
            table.add_column(name, no_wrap=True, overflow="ellipsis", width=widths[name])
        table.add_column("detail", no_wrap=True, overflow="ellipsis", max_width=room)
        for node_id, row in self._rows.items():
            glyph, style = _STYLES.get(row.status, ("?", ""))
            took = ""
            if row.started is not None:
                took = duration_text(((row.finished or now) - row.started) * 1000)
            table.add_row(
                node_id,
                Text(f"{glyph} {row.status}", style=style),
                str(row.attempts) if row.attempts else "",
                took,
                Text(row.detail[:room], style="red" if row.status is NodeStatus.FAILED else "dim"),
            )
        return table

    def end(self) -> None:
        self._live.refresh()
        self._live.stop()


def make_view(stream: TextIO, title: str, *, quiet: bool) -> ProgressView | None:
    """The view for ``stream``: live on a terminal, lines otherwise, none when quiet."""
    if quiet:
        return None
    if stream.isatty():
        return LiveView(stream, title)
    return LineView(stream)
