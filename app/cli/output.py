"""What the CLI prints: JSON documents, plain-text tables and error paragraphs.

Tables are plain aligned text rather than rich tables: they are read by people
*and* piped to ``grep``/``less``, and importing rich costs start-up time that only
the live progress view on a terminal should pay. Errors are one paragraph that
names what went wrong and where — the message, its place, and every problem of an
invalid blueprint on its own line — never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from app.fault_injection import inject_text
from app.subflow_results import ExecutionLinks

if TYPE_CHECKING:
    from app.api import Conductor
    from app.errors import ConductorError, ErrorInfo, Problem
    from app.output_handles import OutputHandle
    from app.results import ExecutionResult, ExecutionSummary, NodeTypeInfo, OutputPage

#: Widest a table cell may be before it is cut with an ellipsis.
MAX_CELL = 60


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """Write one JSON document (and a newline) to stdout: indented, or compact when
    nested past what the indenting writer takes (any depth a result may hold). A
    pydantic model is written as its JSON. Made whole before anything is written,
    so a failure never leaves half a document."""
    out = stream or sys.stdout
    if hasattr(data, "__pydantic_serializer__"):
        try:
            data = data.model_dump(mode="json")
        except ValueError:  # nested past pydantic's writer: straight to JSON text
            from app.json_values import model_json

            data = model_json(data)
    if isinstance(data, bytes):
        text = data.decode("utf-8")
    else:
        try:
            text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        except (RecursionError, ValueError):
            from app.json_values import dumps

            text = dumps(data, default=str).decode("utf-8")
    out.write(text)
    out.write("\n")
    out.flush()


def handle_hint(result: ExecutionResult) -> str | None:
    """For outputs that came as a handle (over the inline limit, or a stream): what
    they are and how to read them whole; None when they came inline."""
    from app.output_handles import OutputHandle

    handle = result.outputs
    if not isinstance(handle, OutputHandle):
        return None
    eid = result.execution_id
    if handle.is_stream:
        return (
            f"outputs: the stream of node {handle.node_id!r} ({handle_text(handle)}): the "
            f"first items are above; page them with: conductor output {eid} {handle.node_id}"
        )
    unit = "items" if handle.value_type == "list" else "keys"
    what = f"{handle.count:,} {unit}, " if handle.count is not None else ""
    return (
        f"outputs: {what}{handle.size_bytes:,} bytes of JSON, over the inline limit: the "
        f"preview is above; all of it with: conductor output {eid} "
        "(one node's: conductor output ID NODE), or run with --include-node-outputs"
    )


def size_text(size: int) -> str:
    """``812 bytes``, ``272.4 KB``, ``5.0 MB``."""
    if size < 1024:
        return f"{size:,} bytes"
    return f"{size / 1024:,.1f} KB" if size < 1024**2 else f"{size / 1024**2:,.1f} MB"


def handle_text(handle: OutputHandle) -> str:
    """A handle in a few words: ``10,000 items · 272.4 KB · first items kept``."""
    unit = {"list": "items", "object": "keys"}.get(handle.value_type)
    parts = [f"{handle.count:,} {unit}"] if unit and handle.count is not None else []
    parts.append(size_text(handle.size_bytes))
    if handle.is_stream:
        parts.append("every item kept" if handle.complete else "first items kept")
    return " · ".join(parts)


def streams_text(result: ExecutionResult) -> str | None:
    """``run``'s lines on the streams of a run: each streamed node's items, bytes, what
    was kept and its first items, then how to page one; None without streams."""
    from app.output_handles import OutputHandle

    streams = [
        node.output
        for node in result.nodes.values()
        if isinstance(node.output, OutputHandle) and node.output.is_stream
    ]
    if not streams:
        return None
    rows = [
        [
            h.node_id,
            f"{h.count or 0:,}",
            size_text(h.size_bytes),
            "all" if h.complete else "first items",
            ", ".join(json.dumps(item, ensure_ascii=False) for item in h.preview or []),
        ]
        for h in streams
    ]
    return "\n".join(
        [
            table(["STREAM", "ITEMS", "SIZE", "KEPT", "FIRST ITEMS"], rows),
            f"page a stream's kept items: conductor output {result.execution_id} NODE "
            '(a node with "record": "full" keeps every item)',
        ]
    )


async def write_paged_value(
    conductor: Conductor, execution_id: str, node_id: str, out: TextIO | None = None
) -> None:
    """Write a node's output (``node_id`` ``""``: the execution's outputs) as one JSON
    document, a page at a time, so a 10-million-item list is never held whole here."""
    from app.json_values import dumps

    stream = out or sys.stdout
    offset, kind = 0, "none"
    while True:
        page = await conductor.node_output(execution_id, node_id, offset=offset, limit=10_000)
        kind = page.kind
        if offset == 0 and not page.complete:
            sys.stderr.write(f"{stream_note(page)}\n")
        if kind in ("none", "scalar"):
            stream.write(dumps(page.items[0] if page.items else None).decode() + "\n")
            return
        opener, closer = ("[", "]") if kind == "list" else ("{", "}")
        if offset == 0:
            stream.write(opener)
        for index, item in enumerate(page.items):
            sep = "" if offset + index == 0 else ","
            if kind == "list":
                stream.write(f"{sep}\n  {dumps(item).decode()}")
            else:
                key, value = item
                stream.write(f"{sep}\n  {dumps(str(key)).decode()}: {dumps(value).decode()}")
        offset += len(page.items)
        if offset >= page.total or not page.items:
            stream.write(f"\n{closer}\n" if offset else f"{closer}\n")
            stream.flush()
            return


def stream_note(page: OutputPage) -> str:
    """What the pages of a stream recorded as a summary hold."""
    return (
        f"the first {page.total:,} of {page.stream_items or 0:,} items of a stream recorded "
        'as a summary (a node with "record": "full" keeps every item)'
    )


def error_text(exc: ConductorError) -> str:
    """One paragraph: ``<where>: <message>``, then each problem as ``  - place: text``."""
    from app.errors import BlueprintError

    head = f"{exc.where}: {exc.message}" if exc.where else exc.message
    if exc.node_id and exc.node_id not in head:
        head = f"{head} (node {exc.node_id!r})"
    if isinstance(exc, BlueprintError) and exc.problems:
        extra = [p for p in exc.problems if p.where or p.message != exc.message]
        if extra:
            return head + "\n" + problems_text(extra)
    return head


def problems_text(problems: Sequence[Problem], indent: str = "  - ") -> str:
    """Each problem on its own line with its place."""
    return "\n".join(
        f"{indent}{p.where}: {p.message}" if p.where else f"{indent}{p.message}" for p in problems
    )


def error_info_text(info: ErrorInfo) -> str:
    """An error recorded in a result: ``Type at place (node n): message``."""
    place = info.where or ""
    if info.node_id and info.node_id not in place:
        place = f"node {info.node_id!r}" + (f", {place}" if place else "")
    text = f"{info.type}: {info.message}"
    return f"{text} [{place}]" if place else text


def duration_text(ms: float | None) -> str:
    """``12 ms``, ``1.40 s``, ``2 min 05 s``; a dash when unknown."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def time_text(timestamp: float | None) -> str:
    """A local ``YYYY-MM-DD HH:MM:SS`` timestamp, or a dash."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _cell(value: str) -> str:
    line = value.replace("\n", " ").strip()
    return line if len(line) <= MAX_CELL else line[: MAX_CELL - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned by the widest cell; the last column is never padded."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(row: Sequence[str]) -> str:
        padded = [c.ljust(widths[i]) for i, c in enumerate(row[:-1])]
        return "  ".join([*padded, row[-1]]).rstrip()

    return "\n".join([line(headers), *(line(r) for r in cells)])


def node_types_table(types: Sequence[NodeTypeInfo]) -> str:
    rows = [[t.type, t.category, (t.description.strip().splitlines() or [""])[0]] for t in types]
    return table(["TYPE", "CATEGORY", "DESCRIPTION"], rows)


def link_text(handler: str | None, handles: str | None) -> str:
    """An execution's error-handler link: the handler it started, or the failed
    execution it handles; empty without one."""
    if handler is not None:
        return f"error handler {handler}"
    if handles is not None:
        return f"handles {handles}"
    return ""


def history_table(executions: Sequence[ExecutionSummary]) -> str:
    """One row per execution; an INJECTED column (its simulated faults) when any run
    of the listing had ``config.inject``, a LINK column when some row has an
    error-handler link."""
    injected = any(e.inject for e in executions)
    links = [link_text(e.error_handler_execution_id, e.handler_for) for e in executions]
    rows = []
    for e in executions:
        ms = None
        if e.started_at is not None and e.finished_at is not None:
            ms = (e.finished_at - e.started_at) * 1000
        rows.append(
            [
                e.execution_id,
                e.blueprint_id,
                e.status.value,
                time_text(e.created_at),
                duration_text(ms),
                *([inject_text(e.inject) or "-"] if injected else []),
            ]
        )
    headers = ["EXECUTION", "BLUEPRINT", "STATUS", "CREATED", "DURATION"]
    headers += ["INJECTED"] if injected else []
    if any(links):
        headers.append("LINK")
        rows = [[*row, link] for row, link in zip(rows, links, strict=True)]
    return table(headers, rows)


def execution_text(result: ExecutionResult) -> str:
    """The header of ``show``: id, blueprint, status, times, error; then the node table."""
    lines = [
        f"execution  {result.execution_id}",
        f"blueprint  {result.blueprint_id}",
        f"status     {result.status.value}",
        f"created    {time_text(result.created_at)}",
        f"duration   {duration_text(result.duration_ms)}",
    ]
    if result.error is not None:
        lines.append(f"error      {error_info_text(result.error)}")
    if result.config.get("inject"):
        lines.append(f"injected   {inject_text(result.config['inject'])} (simulated failures)")
    if result.error_handler_execution_id is not None:
        lines.append(f"handler    {result.error_handler_execution_id} (its error handler's run)")
    if result.handler_for is not None:
        lines.append(f"handles    {result.handler_for} (the failed execution)")
    lines.append("")
    lines.append(nodes_table(result))
    return "\n".join(lines)


def nodes_table(result: ExecutionResult) -> str:
    """One row per node; an OUTPUT column when some output came as a handle (a stream,
    or over the inline limit): what it holds in a few words."""
    from app.output_handles import OutputHandle

    handles = any(isinstance(n.output, OutputHandle) for n in result.nodes.values())
    rows = []
    for node in result.nodes.values():
        error = "" if node.error is None else f"{node.error.type}: {node.error.message}"
        shown = node.output
        described = []
        if handles:
            if not isinstance(shown, OutputHandle):
                described = [""]
            elif shown.is_stream:
                described = [f"stream · {handle_text(shown)}"]
            else:
                described = [handle_text(shown)]
        rows.append(
            [
                node.node_id,
                node.status.value,
                str(node.attempts),
                duration_text(node.duration_ms),
                *described,
                error,
            ]
        )
    headers = ["NODE", "STATUS", "ATTEMPTS", "DURATION", *(["OUTPUT"] if handles else []), "ERROR"]
    table_text = table(headers, rows)
    if handles:
        table_text += f"\n\nread an OUTPUT with: conductor output {result.execution_id} NODE"
    return table_text


def summary_line(result: ExecutionResult) -> str:
    """One line for stderr once a run ends: status, duration, node counts, id."""
    counts: dict[str, int] = {}
    for node in result.nodes.values():
        counts[node.status.value] = counts.get(node.status.value, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in counts.items())
    return (
        f"{result.blueprint_id}: {result.status.value} in {duration_text(result.duration_ms)}"
        f" ({tally}); execution {result.execution_id}"
    )


def links_text(links: ExecutionLinks) -> str:
    """``show``'s lines on sub-blueprints: the parent, the children, the loops."""
    lines = []
    if links.parent_execution_id is not None:
        lines.append(f"parent     {links.parent_execution_id} (node {links.parent_node_id})")
    for node_id, counts in links.loops.items():
        lines.append(f"loop {node_id}: {counts.completed} done, {counts.failed} failed")
    if links.children:
        rows = [
            [c.execution_id, c.parent_node_id or "", c.blueprint_id, c.status.value]
            for c in links.children
        ]
        lines += ["", table(["CHILD EXECUTION", "NODE", "BLUEPRINT", "STATUS"], rows)]
    return "\n".join(["", *lines]) if lines else ""
