"""sqlite.query and sqlite.write on real SQLite files under tmp_path."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from app.errors import NodeFailedError
from main_process.nodes.sql import WriteParams

if TYPE_CHECKING:
    from tests.main_process.nodes.conftest import RunNode

ROWS = [
    {"id": 1, "name": "apple", "price": 1.5, "tags": ["red"], "fresh": True},
    {"id": 2, "name": "pear", "price": None, "tags": {"k": 1}, "fresh": False},
]


def _read(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database)) as conn, conn:
        return conn.execute(sql).fetchall()


async def test_write_creates_table_and_query_reads_rows(run_node: RunNode, tmp_path: Path) -> None:
    written = await run_node("sqlite.write", {"database": "out.db", "table": "fruit"}, ROWS)
    assert written == {"written": 2}

    rows = await run_node(
        "sqlite.query", {"database": "out.db", "sql": "SELECT * FROM fruit ORDER BY id"}
    )
    assert rows == [
        {"id": 1, "name": "apple", "price": 1.5, "tags": '["red"]', "fresh": 1},
        {"id": 2, "name": "pear", "price": None, "tags": '{"k": 1}', "fresh": 0},
    ]
    columns = _read(tmp_path / "out.db", "SELECT name, type FROM pragma_table_info('fruit')")
    assert columns == [
        ("id", "INTEGER"),
        ("name", "TEXT"),
        ("price", "REAL"),
        ("tags", "TEXT"),
        ("fresh", "INTEGER"),
    ]


async def test_rows_param_and_single_object(run_node: RunNode, tmp_path: Path) -> None:
    params = {"database": "a.db", "table": "t", "rows": {"x": 1}}
    assert await run_node("sqlite.write", params, "input is ignored") == {"written": 1}
    assert _read(tmp_path / "a.db", "SELECT x FROM t") == [(1,)]


async def test_later_rows_may_add_columns(run_node: RunNode, tmp_path: Path) -> None:
    rows = [{"a": 1}, {"a": 2, "b": "x"}]
    await run_node("sqlite.write", {"database": "a.db", "table": "t"}, rows)
    assert _read(tmp_path / "a.db", "SELECT a, b FROM t ORDER BY a") == [(1, None), (2, "x")]


async def test_empty_rows_write_nothing(run_node: RunNode, tmp_path: Path) -> None:
    assert await run_node("sqlite.write", {"database": "a.db", "table": "t"}, []) == {"written": 0}


async def test_replace_mode_replaces_on_unique_key(run_node: RunNode, tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t VALUES (1, 'old')")
    params = {"database": str(database), "table": "t", "mode": "replace"}
    await run_node("sqlite.write", params, [{"id": 1, "v": "new"}, {"id": 2, "v": "two"}])
    assert _read(database, "SELECT id, v FROM t ORDER BY id") == [(1, "new"), (2, "two")]


async def test_failed_write_leaves_nothing_behind(run_node: RunNode, tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with pytest.raises(NodeFailedError, match="UNIQUE") as caught:
        await run_node("sqlite.write", {"database": "a.db", "table": "t"}, [{"id": 1}, {"id": 1}])
    assert str(database) in caught.value.message
    assert _read(database, "SELECT count(*) FROM t") == [(0,)]


async def test_create_false_needs_an_existing_table(run_node: RunNode) -> None:
    params = {"database": "a.db", "table": "t", "create": False}
    with pytest.raises(NodeFailedError, match="no such table"):
        await run_node("sqlite.write", params, [{"a": 1}])


@pytest.mark.parametrize("table", ['t"; DROP TABLE x; --', "1abc", "a b", "x.y"])
def test_unsafe_table_name_is_refused_at_validation(table: str) -> None:
    with pytest.raises(ValidationError, match="not an allowed table name"):
        WriteParams.model_validate({"database": "a.db", "table": table})


async def test_unsafe_column_name_is_refused(run_node: RunNode, tmp_path: Path) -> None:
    with pytest.raises(NodeFailedError, match="not an allowed table or column name") as caught:
        await run_node("sqlite.write", {"database": "a.db", "table": "t"}, [{'a") --': 1}])
    assert caught.value.where == "params.rows"
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize("rows", ["text", [1, 2], [{"a": 1}, "x"]])
async def test_rows_must_be_objects(run_node: RunNode, rows: Any) -> None:
    with pytest.raises(NodeFailedError, match="list of objects"):
        await run_node("sqlite.write", {"database": "a.db", "table": "t"}, rows)


async def test_query_binds_list_and_mapping_params(run_node: RunNode, tmp_path: Path) -> None:
    await run_node("sqlite.write", {"database": "a.db", "table": "t"}, [{"a": 1}, {"a": 2}])
    by_position = {"database": "a.db", "sql": "SELECT a FROM t WHERE a > ?", "params": [1]}
    assert await run_node("sqlite.query", by_position) == [{"a": 2}]
    by_name = {"database": "a.db", "sql": "SELECT a FROM t WHERE a = :a", "params": {"a": 1}}
    assert await run_node("sqlite.query", by_name) == [{"a": 1}]


async def test_query_can_modify_and_commits(run_node: RunNode, tmp_path: Path) -> None:
    await run_node("sqlite.write", {"database": "a.db", "table": "t"}, [{"a": 1}])
    result = await run_node("sqlite.query", {"database": "a.db", "sql": "DELETE FROM t"})
    assert result == []
    assert _read(tmp_path / "a.db", "SELECT count(*) FROM t") == [(0,)]


async def test_query_of_missing_database_names_the_path(run_node: RunNode, tmp_path: Path) -> None:
    with pytest.raises(NodeFailedError, match="no such file") as caught:
        await run_node("sqlite.query", {"database": "missing.db", "sql": "SELECT 1"})
    assert str(tmp_path / "missing.db") in caught.value.message
    assert caught.value.where == "params.database"
    assert not (tmp_path / "missing.db").exists()


async def test_write_into_missing_folder_names_the_path(run_node: RunNode, tmp_path: Path) -> None:
    with pytest.raises(NodeFailedError, match="does not exist") as caught:
        await run_node("sqlite.write", {"database": "nope/a.db", "table": "t"}, [{"a": 1}])
    assert str(tmp_path / "nope" / "a.db") in caught.value.message


async def test_not_a_database_names_the_path(run_node: RunNode, tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("just some text, long enough to not be a header " * 4)
    with pytest.raises(NodeFailedError, match="not a database") as caught:
        await run_node("sqlite.query", {"database": "notes.db", "sql": "SELECT 1 FROM t"})
    assert str(tmp_path / "notes.db") in caught.value.message


async def test_sql_error_fails_the_node(run_node: RunNode, tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "a.db").close()
    with pytest.raises(NodeFailedError, match="syntax error") as caught:
        await run_node("sqlite.query", {"database": "a.db", "sql": "SELEC 1"})
    assert caught.value.where == "params.sql"
