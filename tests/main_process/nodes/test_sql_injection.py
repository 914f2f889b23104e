"""SQL stays SQL and data stays data: ``sqlite.query`` refuses templates in its SQL
when the blueprint is validated, values from inputs reach SQLite only as bound
parameters, and ``sqlite.write`` names must be plain identifiers."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.errors import BlueprintError
from main_process.engine.engine import Engine

INJECTIONS = ["'; DROP TABLE items; --", "1 OR 1=1", "x' OR '1'='1", "1; DELETE FROM items"]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO items VALUES (?, ?)", [(1, "kettle"), (2, "lamp")])
    return path


def rows(database: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT id, name FROM items ORDER BY id").fetchall()


def query(sql: str, params: Any) -> dict[str, Any]:
    return {
        "id": "q",
        "inputs": {"value": {"type": "string"}},
        "nodes": [
            {
                "id": "q",
                "type": "sqlite.query",
                "params": {"database": "shop.db", "sql": sql, "params": params},
            }
        ],
    }


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM items WHERE name = '{{ inputs.value }}'",
        "SELECT * FROM {{ inputs.value }}",
        "{% if inputs.value %}DELETE FROM items{% endif %}",
    ],
)
async def test_template_in_sql_is_refused_before_running(
    engine: Engine, database: Path, sql: str
) -> None:
    blueprint = query(sql, [])
    problems = await engine.validate(blueprint)
    assert [p.where for p in problems] == ["nodes[0].params.sql"]
    assert "params" in problems[0].message and "templates are not allowed" in problems[0].message
    with pytest.raises(BlueprintError) as caught:
        await engine.execute(blueprint=blueprint, inputs={"value": "items"})
    assert [p.where for p in caught.value.problems] == ["nodes[0].params.sql"]
    assert await engine.list_executions() == []
    assert rows(database) == [(1, "kettle"), (2, "lamp")]


@pytest.mark.parametrize("value", INJECTIONS)
async def test_inputs_in_params_stay_data(engine: Engine, database: Path, value: str) -> None:
    by_name = query("SELECT id FROM items WHERE name = ?", ["{{ inputs.value }}"])
    assert await engine.validate(by_name) == []
    result = await engine.execute(blueprint=by_name, inputs={"value": value})
    assert result.success, result.error
    assert result.outputs == []
    control = await engine.execute(blueprint=by_name, inputs={"value": "lamp"})
    assert control.outputs == [{"id": 2}]
    by_id = query("SELECT id FROM items WHERE id = :id", {"id": "{{ inputs.value }}"})
    result = await engine.execute(blueprint=by_id, inputs={"value": value})
    assert result.outputs == []
    assert rows(database) == [(1, "kettle"), (2, "lamp")]


async def test_written_values_are_stored_verbatim(engine: Engine, database: Path) -> None:
    blueprint = {
        "id": "w",
        "inputs": {"value": {"type": "string"}},
        "nodes": [
            {
                "id": "w",
                "type": "sqlite.write",
                "params": {
                    "database": "shop.db",
                    "table": "items",
                    "rows": [{"id": 3 + i, "name": text} for i, text in enumerate(INJECTIONS)],
                },
            }
        ],
    }
    result = await engine.execute(blueprint=blueprint, inputs={"value": ""})
    assert result.success, result.error
    assert rows(database)[2:] == [(3 + i, text) for i, text in enumerate(INJECTIONS)]


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"table": "{{ inputs.value }}"}, "nodes[0].params.table"),
        ({"table": "items", "rows": [{"{{ inputs.value }}": 1}]}, "nodes[0].params.rows"),
    ],
)
@pytest.mark.parametrize("value", ["items; DROP TABLE items", 'name") VALUES (9); --', "1 OR 1=1"])
async def test_names_from_inputs_must_be_identifiers(
    engine: Engine, database: Path, params: dict[str, Any], where: str, value: str
) -> None:
    blueprint = {
        "id": "w",
        "inputs": {"value": {"type": "string"}},
        "nodes": [
            {
                "id": "w",
                "type": "sqlite.write",
                "params": {"database": "shop.db", "rows": [{"name": "x"}], **params},
            }
        ],
    }
    result = await engine.execute(blueprint=blueprint, inputs={"value": value})
    assert not result.success
    error = result.nodes["w"].error
    assert error is not None
    assert error.where == where
    assert "is not an allowed table" in error.message
    assert rows(database) == [(1, "kettle"), (2, "lamp")]
