"""``sqlite.query`` and ``sqlite.write``: read and write SQLite files with the stdlib.

Values only ever reach SQLite as bound parameters. ``sqlite.query``'s ``sql`` must be
literal text: a template there is refused when the blueprint is validated (error
type :data:`~app.validation.TEMPLATE_FORBIDDEN`), because text rendered into SQL is
an injection; values go in ``params``, where templates are fine. Table and column
names cannot be bound, so they are checked against a plain-identifier pattern
(letters, digits and ``_``) and then double-quoted; anything else is refused rather
than escaped, since an odd name in a blueprint is far likelier a mistake (or an
injection) than intent.

Database files obey the engine's file roots (:mod:`main_process.file_roots`), and
connections allow no ``ATTACH`` (nor ``VACUUM INTO``, which attaches internally),
so SQL text cannot open or create files elsewhere either.

Both types are blocking and run on a worker thread (``Runner.THREAD``); each run
opens its own connection and closes it, so no connection crosses threads.
``sqlite.query`` refuses to create a missing database (a typo in the path would
otherwise silently query an empty new file); ``sqlite.write`` creates it.

Objects and lists in values are stored as JSON text, because SQLite has no type for
them and a JSON column is what a user would do by hand.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from itertools import chain
from operator import itemgetter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from app.blueprint import Runner
from app.errors import NodeFailedError
from app.stream_roles import StreamRole, flagged_role
from app.templates import is_template
from app.validation import TEMPLATE_FORBIDDEN
from main_process.file_roots import confined_path
from main_process.nodes.base import NodeContext, NodeType

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: How long a write waits for another connection's lock before failing.
_BUSY_TIMEOUT = 10.0

_COLUMN_TYPES: list[tuple[type, str]] = [
    (bool, "INTEGER"),
    (int, "INTEGER"),
    (float, "REAL"),
    (str, "TEXT"),
    (bytes, "BLOB"),
    (dict, "TEXT"),
    (list, "TEXT"),
]


def quote_identifier(name: str, where: str) -> str:
    """``"name"`` if ``name`` is a plain identifier; otherwise a NodeFailedError."""
    if not _IDENTIFIER.fullmatch(name):
        raise NodeFailedError(
            f"{name!r} is not an allowed table or column name: use letters, digits and _, "
            "not starting with a digit",
            where=where,
        )
    return f'"{name}"'


def _bindable(value: Any) -> Any:
    """A value sqlite3 can bind: objects and lists become JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


#: Value types sqlite3 binds as they are: rows holding only these need no conversion.
_BINDABLE_AS_IS = frozenset({str, int, float, bool, bytes, type(None)})


def _values(rows: list[dict[str, Any]], columns: list[str]) -> list[tuple[Any, ...]]:
    """Each row's values in column order (a missing key is NULL), objects and lists as
    JSON text. Plain dicts holding every column are read with one ``itemgetter`` and
    their value types checked in one pass, in C: value by value in Python, this was a
    third of a 1,000-row write (W6 in ``bench/engine.py``)."""
    values: list[tuple[Any, ...]] | None = None
    if set(map(type, rows)) == {dict}:  # a subclass may have __missing__
        try:
            getter = itemgetter(*columns)
            values = (
                [(value,) for value in map(getter, rows)]
                if len(columns) == 1
                else list(map(getter, rows))
            )
        except KeyError:  # some row lacks a column
            pass
    if values is None:
        values = [tuple(map(row.get, columns)) for row in rows]
    if _BINDABLE_AS_IS.issuperset(set(map(type, chain.from_iterable(values)))):
        return values
    return [tuple(map(_bindable, row)) for row in values]


def _connect(
    database: str, ctx: NodeContext, *, create: bool, any_thread: bool = False
) -> tuple[sqlite3.Connection, str]:
    """Open ``database`` (relative to the blueprint's folder, inside the file roots) with
    ATTACH disabled; returns the connection and its path. ``any_thread``: a stream's
    rows are fetched on whichever node thread pulls the next chunk."""
    if database == ":memory:":
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=not any_thread)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        return conn, database
    path = confined_path(database, ctx.base_dir, ctx.file_roots, "params.database")
    uri = f"{path.as_uri()}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=_BUSY_TIMEOUT,
            isolation_level=None,
            check_same_thread=not any_thread,
        )
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    except sqlite3.Error as exc:
        if not create and not path.exists():
            reason = "no such file"
        elif create and not path.parent.is_dir():
            reason = f"directory {path.parent} does not exist"
        else:
            reason = str(exc)
        raise NodeFailedError(
            f"cannot open SQLite database {path}: {reason}", where="params.database"
        ) from exc
    return conn, str(path)


def _failed(exc: sqlite3.Error, path: str, where: str) -> NodeFailedError:
    return NodeFailedError(f"SQLite error on {path}: {exc}", where=where)


class QueryParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="SQLite query")

    database: str = Field(
        min_length=1, description="SQLite file, relative to the blueprint's folder."
    )
    sql: str = Field(
        min_length=1,
        title="SQL",
        description="One SQL statement with ? or :name placeholders; values go in params.",
        examples=["SELECT * FROM items WHERE price > ?"],
    )
    params: list[Any] | dict[str, Any] = Field(
        default_factory=list,
        title="Parameters",
        description="Values for the placeholders: a list for ?, an object for :name.",
    )
    stream: bool = Field(
        default=False, description="Stream the rows to the next nodes instead of one list."
    )

    @field_validator("sql")
    @classmethod
    def _no_template(cls, sql: str) -> str:
        if is_template(sql):
            raise PydanticCustomError(
                TEMPLATE_FORBIDDEN,
                "templates are not allowed in sql (text rendered into SQL is an injection): "
                "write ? or :name placeholders and put the values, templates allowed, in params",
            )
        return sql


def run_query(params: QueryParams, input: Any, ctx: NodeContext) -> list[dict[str, Any]]:
    """Run one parameterised SQL statement; output its rows as objects."""
    bound: list[Any] | dict[str, Any]
    if isinstance(params.params, dict):
        bound = {key: _bindable(value) for key, value in params.params.items()}
    else:
        bound = [_bindable(value) for value in params.params]
    if params.stream:
        conn, path = _connect(params.database, ctx, create=False, any_thread=True)
        return _stream_rows(conn, path, params.sql, bound)  # type: ignore[return-value]
    conn, path = _connect(params.database, ctx, create=False)
    with closing(conn):
        try:
            conn.execute("BEGIN")
            cursor = conn.execute(params.sql, bound)
            names = [column[0] for column in cursor.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _failed(exc, path, "params.sql") from exc
    return rows


def _stream_rows(conn: sqlite3.Connection, path: str, sql: str, bound: Any) -> Iterator[Any]:
    """The rows as a generator, in one read transaction, fetched a few hundred at a time;
    closing it (the stream ended, failed or was cancelled) closes the connection."""
    with closing(conn):
        try:
            conn.execute("BEGIN")
            cursor = conn.execute(sql, bound)
            names = [column[0] for column in cursor.description or ()]
            while rows := cursor.fetchmany(500):
                for row in rows:
                    yield dict(zip(names, row, strict=True))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _failed(exc, path, "params.sql") from exc
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")


class WriteParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="SQLite write")

    database: str = Field(
        min_length=1,
        description="SQLite file, relative to the blueprint's folder; created if missing.",
    )
    table: str = Field(
        min_length=1,
        description="Table to write to: letters, digits and _ only.",
    )
    rows: list[dict[str, Any]] | dict[str, Any] | None = Field(
        default=None,
        description="Objects to write, one row each (keys are columns). Empty: the input.",
    )
    mode: Literal["insert", "replace"] = Field(
        default="insert",
        description="insert: add rows; replace: rows clashing on a unique key replace old ones.",
    )
    create: bool = Field(
        default=True,
        description=(
            "Create the table if missing: the first row's keys (then any new keys of later "
            "rows) become columns, typed from their first values."
        ),
    )

    @field_validator("table")
    @classmethod
    def _plain_identifier(cls, table: str) -> str:
        if "{{" not in table and not _IDENTIFIER.fullmatch(table):
            raise ValueError(
                f"{table!r} is not an allowed table name: use letters, digits and _, "
                "not starting with a digit"
            )
        return table


def _rows(value: Any) -> list[dict[str, Any]]:
    """The rows to write: a list of objects, or one object as a single row."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return value
    kind = type(value).__name__ if not isinstance(value, list) else "list of non-objects"
    raise NodeFailedError(
        f"sqlite.write needs a list of objects to write, got {kind}", where="params.rows"
    )


def _first_value(rows: list[dict[str, Any]], key: str) -> Any:
    """The first non-null value of column ``key``: what its declared type is taken from."""
    return next((row[key] for row in rows if row.get(key) is not None), None)


def _column_type(value: Any) -> str:
    for python_type, sql_type in _COLUMN_TYPES:
        if isinstance(value, python_type):
            return f" {sql_type}"
    return ""


def run_write(params: WriteParams, input: Any, ctx: NodeContext) -> dict[str, int]:
    """Insert rows (default: the input) into a table, in one transaction."""
    rows = _rows(input if params.rows is None else params.rows)
    if not rows:
        return {"written": 0}
    table = quote_identifier(params.table, "params.table")
    # Every key of every row, in first-seen order (one C pass: this and the values
    # below were a third of a 1,000-row write, measured by W6 in bench/engine.py).
    columns = {
        key: quote_identifier(key, "params.rows")
        for key in dict.fromkeys(chain.from_iterable(rows))
    }
    names = ", ".join(columns.values())
    placeholders = ", ".join("?" * len(columns))
    verb = "INSERT OR REPLACE" if params.mode == "replace" else "INSERT"
    insert = f"{verb} INTO {table} ({names}) VALUES ({placeholders})"
    values = _values(rows, list(columns))

    conn, path = _connect(params.database, ctx, create=True)
    with closing(conn):
        try:
            conn.execute("BEGIN IMMEDIATE")
            if params.create:
                definitions = ", ".join(
                    f"{quoted}{_column_type(_first_value(rows, key))}"
                    for key, quoted in columns.items()
                )
                conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({definitions})")
            conn.executemany(insert, values)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _failed(exc, path, "params.table") from exc
    return {"written": len(rows)}


SQL_TYPES: list[NodeType] = [
    NodeType(
        "sqlite.query",
        "SQLite query",
        "Files/SQL",
        QueryParams,
        run_query,
        runner=Runner.THREAD,
        streams=flagged_role,
    ),
    NodeType(
        "sqlite.write",
        "SQLite write",
        "Files/SQL",
        WriteParams,
        run_write,
        runner=Runner.THREAD,
        # A stream is written a chunk per transaction (executemany), the counts summed.
        streams=StreamRole.COLLECTS,
        combine=lambda a, b: {"written": a["written"] + b["written"]},
    ),
]
