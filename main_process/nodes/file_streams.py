"""Files as streams of items: ``file.read`` with ``stream: true`` (CSV rows or JSON
Lines), and ``file.write`` fed a stream (JSON Lines or CSV, written as it flows).

Reading yields one item per line (CSV: an object keyed by the header, all values
strings; JSON Lines: each non-blank line's JSON value); a line that is not JSON fails
the stream naming its line number. Writing goes to a temporary file in the target's
folder, a chunk at a time on a node thread, and replaces the target only once the
stream ended (atomic, like every ``file.write``); a failed or cancelled stream leaves
the old file. A CSV's header is the first row's keys (later rows' other keys are
dropped: the header is written before they are seen).
"""

from __future__ import annotations

import csv
import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from app.errors import NodeFailedError
from main_process.file_roots import confined_path
from main_process.nodes.base import NodeContext
from main_process.runners.threads import run_blocking


def read_items(path: Path, fmt: str) -> Iterator[Any]:
    """A generator of the file's items, the file open only while it runs."""
    if fmt not in ("csv", "jsonl"):
        raise NodeFailedError(
            f"stream: true reads csv or jsonl files, not {fmt}", where="params.format"
        )
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise NodeFailedError(
            f"cannot read {path}: {exc.strerror or exc}", where="params.path"
        ) from exc
    return _csv_rows(handle) if fmt == "csv" else _json_lines(handle, path)


def _csv_rows(handle: IO[str]) -> Iterator[dict[str, Any]]:
    with handle:
        yield from csv.DictReader(handle, restkey="_extra")


def _json_lines(handle: IO[str], path: Path) -> Iterator[Any]:
    with handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise NodeFailedError(
                        f"{path} line {number} is not JSON: {exc.msg}", where="params.path"
                    ) from None


def json_lines(content: Any) -> bytes:
    """A list as JSON Lines (anything else as one line)."""
    items = content if isinstance(content, list) else [content]
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()


class _StreamFile:
    """The temporary file a stream is written to, then moved over the target."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        path.parent.mkdir(parents=True, exist_ok=True)
        self.temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
        self.file = self.temp.open("w", encoding="utf-8", newline="")
        self.header: list[str] | None = None
        self.items = 0

    def write(self, chunk: list[Any]) -> None:
        if self.fmt == "csv":
            self._csv(chunk)
        else:
            self.file.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in chunk)
        self.items += len(chunk)

    def _csv(self, chunk: list[Any]) -> None:
        out = csv.writer(self.file, lineterminator="\n")
        for row in chunk:
            if not isinstance(row, dict):
                raise NodeFailedError(
                    f"csv needs objects; item {self.items} is {type(row).__name__}",
                    where="params.format",
                )
            if self.header is None:
                self.header = [str(key) for key in row]
                out.writerow(self.header)
            out.writerow(csv_cell(row.get(key)) for key in self.header)

    def finish(self) -> int:
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
        except FileNotFoundError:
            mode = None
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        if mode is not None:
            os.chmod(self.temp, mode)
        os.replace(self.temp, self.path)
        return self.path.stat().st_size

    def abandon(self) -> None:
        self.file.close()
        self.temp.unlink(missing_ok=True)


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: null empty, booleans lower-case, objects and lists JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


async def write_stream(params: Any, reader: Any, ctx: NodeContext) -> dict[str, Any]:
    """``file.write`` fed a stream: JSON Lines (``.jsonl``, ``.ndjson``) or CSV."""
    from main_process.nodes.files import _format_of

    path = confined_path(params.path, ctx.base_dir, ctx.file_roots, "params.path")
    fmt = _format_of(path, params.format)
    if fmt not in ("csv", "jsonl"):
        raise NodeFailedError(
            f"a stream is written as jsonl or csv, not {fmt}: set format", where="params.format"
        )
    target = await run_blocking(_StreamFile, path, fmt)
    try:
        async for chunk in reader:
            await run_blocking(target.write, chunk)
        size = await run_blocking(target.finish)
    except BaseException:
        target.abandon()
        raise
    return {"path": str(path), "bytes": size, "items": target.items}
