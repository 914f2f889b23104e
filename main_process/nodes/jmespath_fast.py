"""JMESPath expressions compiled to Python closures, for the common node types.

jmespath's interpreter walks the expression's tree for every item: a filter such
as ``[?price > `0`]`` over 1,000 objects costs ~2 ms there (a dict lookup and a
method call per tree node per item, plus ``isinstance(x, numbers.Number)``), some
forty times the comprehension a user would write by hand, and it was the largest
single cost of the W6 workload in ``bench/engine.py``. :func:`compile_fast` turns
the tree once into nested closures with the interpreter's exact semantics (its
``None`` for a field of a non-object, its comparisons: ordering only between
numbers or strings, ``1 != true``; its truthiness: ``0`` is true, ``[]`` false),
with fast paths for plain JSON values and the interpreter's own checks for
anything else.

Only the node types that need no functions are compiled (fields, paths, pipes,
indexes, projections, filters, flatten, multi-selects, comparisons, and/or/not,
literals); an expression holding any other (functions, slices) returns ``None``
and is searched by the interpreter. Every list or object built is counted against
the same budget as the interpreter's (``count``), so the value budget holds either
way; ``tests/main_process/nodes/test_jmespath_fast.py`` checks the two agree on
random expressions and values.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jmespath import visitor

Fn = Callable[[Any], Any]
#: A node of jmespath's tree: a dict with ``type``, ``children`` and maybe ``value``.
Node = Any
#: Called with every list or object a compiled expression builds (the budget check).
Count = Callable[[Any], Any]

#: The interpreter's own helpers (not in jmespath's stubs), so the rules are its rules.
_visitor: Any = visitor
_equals: Callable[[Any, Any], bool] = _visitor._equals
_is_comparable: Callable[[Any], bool] = _visitor._is_comparable
_is_actual_number: Callable[[Any], bool] = _visitor._is_actual_number
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "lt": operator.lt,
    "gt": operator.gt,
    "lte": operator.le,
    "gte": operator.ge,
}
#: Types whose values are comparable (``_is_comparable``) with no further check.
_PLAIN_COMPARABLE = frozenset({int, float, str})


class _Unsupported(Exception):
    """A node type this module does not compile: the interpreter searches."""


def _is_false(value: Any) -> bool:
    """jmespath's falsiness: ``''``, ``[]``, ``{}``, ``None``, ``false`` (not ``0``)."""
    if value is None or value is False or value is True:
        return value is not True
    return bool(value in ("", [], {}))  # by ==, as the interpreter tests


def compile_fast(parsed: Node, count: Count) -> Fn | None:
    """A closure computing ``parsed`` (jmespath's tree) like the interpreter, or None
    when the tree holds a node type not compiled here (or is nested too deeply)."""
    try:
        return _Compiler(count).compile(parsed)
    except (_Unsupported, RecursionError):
        return None


class _Compiler:
    """Builds the closure of one tree; ``count`` sees every list or object built."""

    def __init__(self, count: Count) -> None:
        self.count = count

    def compile(self, node: Node) -> Fn:
        method = getattr(self, f"_{node['type']}", None)
        if method is None:
            raise _Unsupported(node["type"])
        fn: Fn = method(node)
        return fn

    def _children(self, node: Node) -> list[Fn]:
        return [self.compile(child) for child in node["children"]]

    def _identity(self, node: Node) -> Fn:
        return _same

    _current = _identity

    def _literal(self, node: Node) -> Fn:
        literal = node["value"]
        return lambda value: literal

    def _field(self, node: Node) -> Fn:
        name = node["value"]

        def field(value: Any) -> Any:
            if type(value) is dict:
                return value.get(name)
            try:
                return value.get(name)
            except AttributeError:
                return None

        return field

    def _subexpression(self, node: Node) -> Fn:
        steps = self._children(node)
        if len(steps) == 2:
            first, second = steps
            return lambda value: second(first(value))

        def chain(value: Any) -> Any:
            for step in steps:
                value = step(value)
            return value

        return chain

    _index_expression = _subexpression
    _pipe = _subexpression

    def _index(self, node: Node) -> Fn:
        index = node["value"]

        def at(value: Any) -> Any:
            if not isinstance(value, list):
                return None
            try:
                return value[index]
            except IndexError:
                return None

        return at

    def _comparator(self, node: Node) -> Fn:
        left, right = self._children(node)
        op = node["value"]
        if op == "eq":
            return lambda value: _equals(left(value), right(value))
        if op == "ne":
            return lambda value: not _equals(left(value), right(value))
        compare = _ORDER[op]
        plain = _PLAIN_COMPARABLE

        def order(value: Any) -> Any:
            a, b = left(value), right(value)
            if (type(a) in plain or _is_comparable(a)) and (type(b) in plain or _is_comparable(b)):
                return compare(a, b)
            return None

        return order

    def _or_expression(self, node: Node) -> Fn:
        first, second = self._children(node)

        def either(value: Any) -> Any:
            matched = first(value)
            return second(value) if _is_false(matched) else matched

        return either

    def _and_expression(self, node: Node) -> Fn:
        first, second = self._children(node)

        def both(value: Any) -> Any:
            matched = first(value)
            return matched if _is_false(matched) else second(value)

        return both

    def _not_expression(self, node: Node) -> Fn:
        (inner,) = self._children(node)

        def negate(value: Any) -> Any:
            result = inner(value)
            if _is_actual_number(result) and result == 0:
                return False  # the interpreter's special case: !0 is false
            return not result

        return negate

    def _projection(self, node: Node) -> Fn:
        base, each = self._children(node)
        count = self.count

        def project(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            if each is _same:
                return count([item for item in items if item is not None])
            return count([r for r in map(each, items) if r is not None])

        return project

    def _value_projection(self, node: Node) -> Fn:
        base, each = self._children(node)
        count = self.count

        def project_values(value: Any) -> Any:
            items = base(value)
            try:
                items = items.values()
            except AttributeError:
                return None
            return count([r for r in map(each, items) if r is not None])

        return project_values

    def _filter_projection(self, node: Node) -> Fn:
        base, each, condition = self._children(node)
        count = self.count
        test = self._fast_test(node["children"][2]) or (lambda item: not _is_false(condition(item)))

        if each is _same:

            def filter_items(value: Any) -> Any:
                items = base(value)
                if not isinstance(items, list):
                    return None
                return count([item for item in items if test(item) and item is not None])

            return filter_items

        def filter_(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            collected = []
            for item in items:  # each item tested, then projected, as the interpreter does
                if test(item):
                    result = each(item)
                    if result is not None:
                        collected.append(result)
            return count(collected)

        return filter_

    def _fast_test(self, node: Node) -> Fn | None:
        """The commonest filter, ``field <op> literal`` with a number or string literal,
        as one closure (its truthiness is the comparison's: True, False or None)."""
        if node["type"] != "comparator" or node["value"] not in _ORDER:
            return None
        left, right = node["children"]
        if left["type"] != "field" or right["type"] != "literal":
            return None
        literal = right["value"]
        if type(literal) not in _PLAIN_COMPARABLE:
            return None
        name, compare, plain = left["value"], _ORDER[node["value"]], _PLAIN_COMPARABLE
        slow = self._comparator(node)

        def test(item: Any) -> bool:
            if type(item) is dict:
                a = item.get(name)
                if type(a) in plain:
                    return compare(a, literal) is True
            return not _is_false(slow(item))

        return test

    def _flatten(self, node: Node) -> Fn:
        (base,) = self._children(node)
        count = self.count

        def flatten(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            merged: list[Any] = []
            for item in items:
                if isinstance(item, list):
                    merged.extend(item)
                else:
                    merged.append(item)
            return count(merged)

        return flatten

    def _multi_select_list(self, node: Node) -> Fn:
        parts = self._children(node)
        count = self.count

        def select_list(value: Any) -> Any:
            if value is None:
                return None
            return count([part(value) for part in parts])

        return select_list

    def _multi_select_dict(self, node: Node) -> Fn:
        pairs = [(child["value"], self.compile(child["children"][0])) for child in node["children"]]
        count = self.count

        def select_dict(value: Any) -> Any:
            if value is None:
                return None
            return count({key: part(value) for key, part in pairs})

        return select_dict


def _same(value: Any) -> Any:
    return value
