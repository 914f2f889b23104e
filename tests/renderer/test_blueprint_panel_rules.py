"""How the Blueprint tab reads a typed default and makes an id from a name (no window)."""

from __future__ import annotations

import pytest

from renderer.blueprint_dialog import slug
from renderer.inspector.blueprint_panel import INPUT_TYPES, parse_default, show_default


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("string", " hello ", "hello"),
        ("string", "", None),
        ("integer", "3", 3),
        ("number", "2.5", 2.5),
        ("boolean", "TRUE", True),
        ("object", '{"a": 1}', {"a": 1}),
        ("array", "[1, 2]", [1, 2]),
        ("any", "plain words", "plain words"),
        ("any", "[1]", [1]),
    ],
)
def test_defaults_are_read_by_type(kind: str, text: str, value: object) -> None:
    assert parse_default(kind, text) == value


@pytest.mark.parametrize(
    ("kind", "text", "says"),
    [
        ("integer", "2.5", "not an integer"),
        ("number", "many", "not a number"),
        ("boolean", "yes", "true or false"),
        ("object", "[1]", "not an object"),
        ("array", "{", "JSON"),
    ],
)
def test_a_default_that_does_not_fit_says_why(kind: str, text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_default(kind, text)


def test_types_and_shown_defaults() -> None:
    assert INPUT_TYPES[:3] == ("string", "number", "integer")
    assert show_default({"a": [1]}) == '{"a": [1]}'
    assert show_default("text") == "text" and show_default(None) == ""


def test_slug_makes_an_id_from_a_name() -> None:
    assert slug("My first flow!") == "my-first-flow"
    assert slug("  Ünïcode & spaces  ") == "unicode-spaces"
    assert slug("...") == ""
