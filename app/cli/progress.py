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
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from app.cli.output import duration_text

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

    from app.events import Event
    from app.results import ExecutionResult


class ProgressView(Protocol):
    """Something that shows an execution while it runs."""

    def begin(self, result: ExecutionResult) -> None:
        """The execution as it stands when following starts (every node, pending)."""

    def event(self, event: Event) -> None:
        """One recorded transition, in ``seq`` order."""

    def end(self) -> None:
        """The execution ended (or following stopped); leave the final state on screen."""


def _error_message(event: Event) -> str:
    error = (event.data or {}).get("error")
    if isinstance(error, dict):
        text = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        return " ".join(text.split())
    return ""


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
        data = event.data or {}
        if event.kind == "execution":
            self._write(event, "execution", event.status or "", _error_message(event))
        elif event.kind == "node" and event.node_id is not None:
            self._write(event, event.node_id, event.status or "", self._node_detail(event, data))
        elif event.kind == "log":
            level = str(data.get("level", "info"))
            self._write(event, event.node_id or "-", "log", f"{level}: {data.get('message', '')}")

    def _node_detail(self, event: Event, data: dict[str, Any]) -> str:
        node_id, status = event.node_id or "", event.status
        if status == "running":
            self._started.setdefault(node_id, event.ts)
            return f"attempt {event.attempt}" if event.attempt and event.attempt > 1 else ""
        if status == "retrying":
            delay = data.get("delay")
            wait = f"; retrying in {delay:.2f} s" if isinstance(delay, int | float) else ""
            return f"attempt {event.attempt} failed: {_error_message(event)}{wait}"
        started = self._started.pop(node_id, None)
        took = duration_text((event.ts - started) * 1000) if started is not None else ""
        if status == "failed":
            return f"{took}  {_error_message(event)}".strip()
        if "port" in data:
            return f"{took}  port {data['port']}".strip()
        return took

    def end(self) -> None:
        self._stream.flush()


@dataclass(slots=True)
class _Row:
    status: str = "pending"
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    detail: str = ""


_STYLES = {
    "pending": ("○", "dim"),
    "running": ("●", "cyan"),
    "retrying": ("↻", "yellow"),
    "completed": ("✓", "green"),
    "failed": ("✗", "red"),
    "cancelled": ("■", "magenta"),
    "skipped": ("-", "dim"),
    "interrupted": ("!", "magenta"),
}


class LiveView:
    """A per-node table redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self._title = title
        self._rows: dict[str, _Row] = {}
        self._status = "pending"
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
                    status=node.status.value,
                    attempts=node.attempts,
                    started=node.started_at,
                    finished=node.finished_at,
                ),
            )
        self._status = result.status.value
        if result.started_at is not None:
            self._t0 = result.started_at

    def event(self, event: Event) -> None:
        if event.kind == "execution":
            self._status = event.status or self._status
            if event.is_terminal:
                self._t1 = event.ts
            return
        if event.node_id is None:
            return
        row = self._rows.setdefault(event.node_id, _Row())
        if event.kind == "log":
            data = event.data or {}
            row.detail = f"{data.get('level', 'info')}: {data.get('message', '')}"
            return
        if event.kind != "node":
            return
        row.status = event.status or row.status
        row.attempts = event.attempt or row.attempts
        if row.status == "running":
            if row.started is None:
                row.started = event.ts
            row.finished = None
        elif row.status in ("retrying", "failed"):
            row.detail = _error_message(event)
            if row.status == "failed":
                row.finished = event.ts
        elif row.status in ("completed", "cancelled", "skipped"):
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
                Text(row.detail[:room], style="red" if row.status == "failed" else "dim"),
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
