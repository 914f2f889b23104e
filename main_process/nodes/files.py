"""``file.read`` and ``file.write``: JSON, CSV and text files, UTF-8.

Relative paths resolve against the blueprint's folder (``ctx.base_dir``), never the
process's working directory, so a blueprint behaves the same from the GUI, the CLI
and ``conductor serve``; the resolved path must lie inside the engine's file roots
(``ctx.file_roots``, see :mod:`main_process.file_roots`). With no ``format``, the
file's extension decides (``.json``, ``.csv``, anything else is text).

Writes are atomic: the bytes go to a temporary file in the same folder, which then
replaces the target with ``os.replace``. A reader, or a crash mid-write, sees the
old file or the new one — never half of one. Missing parent folders are created.

CSV rows are objects: reading yields one object per line keyed by the header, all
values strings; writing takes a list of objects, with the union of their keys as
the header, objects and lists as JSON text and booleans as ``true``/``false``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.blueprint import Runner
from app.errors import NodeFailedError
from app.stream_roles import StreamRole, flagged_role
from main_process.file_roots import absolute_path, confined_path
from main_process.nodes.base import NodeContext, NodeType
from main_process.nodes.file_streams import (
    _json_lines,
    csv_cell,
    json_lines,
    read_items,
    write_stream,
)

Format = Literal["json", "csv", "text", "jsonl"]

_FORMAT_DESCRIPTION = (
    "json, csv, jsonl (JSON Lines) or text. Empty: from the file's extension (.json, .csv,"
    " .jsonl/.ndjson, else text)."
)


def resolve_path(path: str, base_dir: Path) -> Path:
    """``path`` with ``~`` expanded, made absolute against ``base_dir`` when relative
    (not confined: for code nodes, which can reach any file anyway)."""
    return absolute_path(path, base_dir)


def _format_of(path: Path, format: Format | None) -> Format:
    if format is not None:
        return format
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    return "text"


def _os_error(action: str, path: Path, exc: OSError) -> NodeFailedError:
    """A message a user can act on: which file, and the OS's reason in plain words."""
    if isinstance(exc, FileNotFoundError):
        reason = "no such file or directory"
    elif isinstance(exc, IsADirectoryError):
        reason = "it is a directory"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    else:
        reason = exc.strerror or str(exc)
    return NodeFailedError(f"cannot {action} {path}: {reason}", where="params.path")


class ReadParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Read file")

    path: str = Field(min_length=1, description="File to read, relative to the blueprint's folder.")
    format: Format | None = Field(default=None, description=_FORMAT_DESCRIPTION)
    stream: bool = Field(
        default=False,
        description="csv or jsonl: stream the rows to the next nodes, a few at a time.",
    )


def _parse(text: str, format: Format, path: Path) -> Any:
    if format == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise NodeFailedError(
                f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                where="params.path",
            ) from exc
    if format == "jsonl":
        return list(_json_lines(io.StringIO(text), path))
    if format == "csv":
        try:
            return list(csv.DictReader(io.StringIO(text, newline=""), restkey="_extra"))
        except csv.Error as exc:
            raise NodeFailedError(f"{path} is not valid CSV: {exc}", where="params.path") from exc
    return text


def run_read(params: ReadParams, input: Any, ctx: NodeContext) -> Any:
    """Read a file; output its content (parsed JSON, CSV rows as objects, or text)."""
    path = confined_path(params.path, ctx.base_dir, ctx.file_roots, "params.path")
    fmt = _format_of(path, params.format)
    if params.stream:
        return read_items(path, fmt)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _os_error("read", path, exc) from exc
    try:
        # utf-8-sig drops the byte-order mark spreadsheet programs put in front of CSV.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NodeFailedError(
            f"{path} is not UTF-8 text (bad byte at offset {exc.start})", where="params.path"
        ) from exc
    if fmt != "text":
        return _parse(text, fmt, path)
    return text.replace("\r\n", "\n")


class WriteParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Write file")

    path: str = Field(
        min_length=1,
        description="File to write, relative to the blueprint's folder; replaced if it exists.",
    )
    format: Format | None = Field(default=None, description=_FORMAT_DESCRIPTION)
    content: Any = Field(
        default=None,
        description="What to write: any JSON value, a list of objects for csv. Empty: the input.",
    )


def _csv_text(content: Any) -> str:
    """CSV from a list of objects (header = union of keys) or a list of lists (no header)."""
    rows = [content] if isinstance(content, dict) else content
    out = io.StringIO(newline="")
    if isinstance(rows, list) and all(isinstance(row, dict) for row in rows):
        header: dict[str, None] = {}
        for row in rows:
            header.update(dict.fromkeys(str(key) for key in row))
        writer = csv.writer(out, lineterminator="\n")
        if header:
            writer.writerow(header)
        for row in rows:
            writer.writerow(csv_cell(row.get(key)) for key in header)
        return out.getvalue()
    if isinstance(rows, list) and all(isinstance(row, list) for row in rows):
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([csv_cell(cell) for cell in row] for row in rows)
        return out.getvalue()
    raise NodeFailedError(
        f"csv needs a list of objects to write, got {type(content).__name__}",
        where="params.content",
    )


def _encode(content: Any, format: Format) -> bytes:
    if format == "csv":
        return _csv_text(content).encode()
    if format == "text" and isinstance(content, str):
        return content.encode()
    if format == "jsonl":
        return json_lines(content)
    try:
        return (json.dumps(content, ensure_ascii=False, indent=2) + "\n").encode()
    except (TypeError, ValueError) as exc:
        raise NodeFailedError(
            f"content cannot be written as JSON: {exc}", where="params.content"
        ) from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, keeping an existing file's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    # os.open with 0o666 lets the umask decide a new file's mode, as open() would.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def run_write(params: WriteParams, input: Any, ctx: NodeContext) -> dict[str, Any]:
    """Write content (default: the input) to a file, atomically; output its path and size."""
    path = confined_path(params.path, ctx.base_dir, ctx.file_roots, "params.path")
    content = input if params.content is None else params.content
    data = _encode(content, _format_of(path, params.format))
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise _os_error("write", path, exc) from exc
    return {"path": str(path), "bytes": len(data)}


FILE_TYPES: list[NodeType] = [
    NodeType(
        "file.read",
        "Read file",
        "Files/SQL",
        ReadParams,
        run_read,
        runner=Runner.THREAD,
        streams=flagged_role,
    ),
    NodeType(
        "file.write",
        "Write file",
        "Files/SQL",
        WriteParams,
        run_write,
        runner=Runner.THREAD,
        streams=StreamRole.COLLECTS,  # a stream is written as it flows (jsonl, csv)
        consume=write_stream,
    ),
]
