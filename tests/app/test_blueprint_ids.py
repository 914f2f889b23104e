"""One id rule for the library, the HTTP routes and the app's Save dialog, and the ids
a blueprint refers to (what blocks a rename)."""

from __future__ import annotations

import pytest

from app.blueprint import Blueprint
from app.blueprint_ids import id_problem, referenced_ids


@pytest.mark.parametrize(
    "bad", ["x\n", "x\r\n", "\nx", "x\x00", "../x", ".hidden", "a/b", "a\\b", "", "x" * 201, "a b"]
)
def test_id_problem_names_what_is_wrong(bad: str) -> None:
    problem = id_problem(bad)
    assert problem is not None
    assert "empty" in problem if not bad else "not a valid blueprint id" in problem


@pytest.mark.parametrize("good", ["x", "my-first", "a.b_c-1", "x" * 200, "untitled-3"])
def test_plain_ids_pass(good: str) -> None:
    assert id_problem(good) is None


def test_referenced_ids_are_the_blueprints_call_nodes_run() -> None:
    caller = Blueprint.model_validate(
        {
            "id": "parent",
            "nodes": [
                {"id": "a", "type": "blueprint.call", "params": {"blueprint_id": "child"}},
                {"id": "b", "type": "blueprint.call", "params": {"blueprint_id": 3}},
                {"id": "c", "type": "set", "params": {"blueprint_id": "not-a-call"}},
            ],
        }
    )
    assert referenced_ids(caller) == {"child"}
