"""Compiled JMESPath (main_process.nodes.jmespath_fast) against jmespath's interpreter.

Random expressions of the compiled node types over random JSON values: the same
result, down to ``true`` vs ``1`` and ``1`` vs ``1.0``, or the same error type.
"""

from __future__ import annotations

import json
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from main_process.nodes import bounded_jmespath
from main_process.nodes.bounded_jmespath import ValueBudgetError, search
from main_process.nodes.jmespath_fast import compile_fast

KEYS = ["a", "b", "price", "name"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([0.0, 1.0, 1.5, -0.5]),
    st.sampled_from(["", "x", "y", "0"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=20,
)
literals = st.sampled_from(["`0`", "`1`", "`1.5`", "'x'", "`true`", "`null`", "`[]`", "`{}`", "''"])
fields = st.sampled_from(KEYS)
comparators = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


def expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, b: f"{a}.{b}", inner, fields),
            st.builds(lambda a, i: f"{a}[{i}]", inner, st.integers(-2, 2)),
            st.builds(lambda a, b: f"{a}[*].{b}", inner, fields),
            st.builds(lambda a: f"{a}[*]", inner),
            st.builds(lambda a: f"{a}.*", inner),
            st.builds(lambda a: f"{a}[]", inner),
            st.builds(lambda a, b: f"{a} | {b}", inner, inner),
            st.builds(lambda a, b: f"{a} || {b}", inner, inner),
            st.builds(lambda a, b: f"{a} && {b}", inner, inner),
            st.builds(lambda a: f"!({a})", inner),
            st.builds(lambda a, b: f"[{a}, {b}]", inner, inner),
            st.builds(lambda a, b: f"{{k: {a}, j: {b}}}", inner, inner),
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, comparators, inner),
            st.builds(lambda a, c: f"{a}[?{c}]", inner, inner),
            st.builds(lambda a, c, b: f"{a}[?{c}].{b}", inner, inner, fields),
            st.builds(lambda f, op, lit: f"[?{f} {op} {lit}]", fields, comparators, literals),
        )

    return st.recursive(st.one_of(fields, literals, st.just("@")), extend, max_leaves=8)


def outcome(run: Any) -> tuple[str, str]:
    try:
        return ("ok", json.dumps(run()))
    except Exception as exc:  # the error's type is what must agree
        return ("error", type(exc).__name__)


@settings(max_examples=1500, deadline=None)
@given(expressions(), values)
def test_compiled_agrees_with_the_interpreter(expression: str, value: Any) -> None:
    parsed = jmespath.compile(expression).parsed
    fast = compile_fast(parsed, lambda built: built)
    assert fast is not None, expression
    expected = outcome(lambda: jmespath.search(expression, value))
    assert outcome(lambda: fast(value)) == expected, expression


def test_functions_and_slices_are_left_to_the_interpreter() -> None:
    assert compile_fast(jmespath.compile("length(@)").parsed, id) is None
    assert compile_fast(jmespath.compile("a[::-1]").parsed, id) is None
    assert search(jmespath.compile("items[?price > `0`] | length(@)"), {"items": []}) == 0


def test_the_filter_of_the_common_case() -> None:
    rows = [{"price": 1}, {"price": 0}, {"price": True}, {"price": "x"}, {"p": 2}, 3, None]
    compiled = jmespath.compile("[?price > `0`]")
    with pytest.raises(TypeError):  # 'x' > 0, as in the interpreter
        compiled.search(rows)
    assert search(jmespath.compile("[?price > `0`]"), rows[:3] + rows[4:]) == [{"price": 1}]


def test_compiled_searches_count_against_the_value_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bounded_jmespath, "items_limit", lambda: 1000)
    compiled = jmespath.compile("[*] | [*] | [*]")
    assert compile_fast(compiled.parsed, id) is not None
    assert search(compiled, list(range(300))) == list(range(300))
    with pytest.raises(ValueBudgetError):
        search(compiled, list(range(400)))
