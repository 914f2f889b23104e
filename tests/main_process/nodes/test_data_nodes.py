"""json.transform: JMESPath, checked when the params are validated."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from app.errors import NodeFailedError
from main_process.nodes.data import TransformParams

if TYPE_CHECKING:
    from tests.main_process.nodes.conftest import RunNode

ITEMS = {"items": [{"name": "a", "price": 3}, {"name": "b", "price": 0}]}


async def test_transform_applies_expression(run_node: RunNode) -> None:
    result = await run_node("json.transform", {"expression": "items[?price > `0`].name"}, ITEMS)
    assert result == ["a"]


async def test_transform_builds_objects(run_node: RunNode) -> None:
    result = await run_node("json.transform", {"expression": "{n: length(items)}"}, ITEMS)
    assert result == {"n": 2}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("items[?price > ", "ends too early"),
        ("a ~ b", "column 3"),
        ("foo.`bad", "column 5"),
    ],
)
def test_syntax_error_is_a_validation_error_with_its_column(expression: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TransformParams.model_validate({"expression": expression})
    (error,) = caught.value.errors()
    assert error["loc"] == ("expression",)
    assert "invalid JMESPath expression" in error["msg"]
    assert message in error["msg"]


def test_unrendered_template_is_left_for_later() -> None:
    params = TransformParams.model_validate({"expression": "items[?price > `{{ inputs.min }}`]"})
    assert params.expression.startswith("items")


async def test_type_error_at_run_time_fails_the_node(run_node: RunNode) -> None:
    with pytest.raises(NodeFailedError, match="length") as caught:
        await run_node("json.transform", {"expression": "length(@)"}, 5)
    assert caught.value.where == "params.expression"
