"""Hypothesis strategies for what a hostile blueprint author writes.

Three kinds of text, each built from the pieces that took memory or time on an
earlier main, combined at random so the fuzzer also tries what nobody listed:

* Jinja2 templates: nested loops over ``range``, ``namespace`` values that double,
  ``*``/``+``/``~``/``%`` on strings and lists, the filters and ``str`` methods that
  take a width or build text, deep nesting, huge literals, attribute tricks;
* JMESPath expressions: pipes of multi-selects that double, flattens, projections and
  functions (``to_string``, ``join``, ``sort_by``, ``map``, ``merge``, ``max_by``…);
* YAML documents: alias bombs, deep nesting, long scalars, many keys, merge keys, tags.

A case is ``(kind, text)``; :mod:`tests.reliability.hostile_child` evaluates it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["INPUT", "hostile_case", "jmespath_expressions", "templates", "yaml_documents"]

#: The input every template and expression gets (``input`` and ``inputs.*``).
INPUT: dict[str, Any] = {
    "s": "abc" * 10,
    "n": 7,
    "items": list(range(50)),
    "nested": {"a": [{"b": i, "c": str(i)} for i in range(20)]},
}

_NUMBERS = st.sampled_from(
    [0, 1, 2, 7, 60, 999, 10**4, 10**5, 10**6, 10**7, 10**8, 2**31, 10**10, 10**12]
)
_ATOMS = st.sampled_from(
    [
        "input",
        "inputs.s",
        "inputs.items",
        "inputs.nested",
        "'x'",
        "'ab' * 1000",
        "[1, 2, 3]",
        "[inputs.items, inputs.items]",
        "range(99999)",
        "{'k': inputs.items}",
        "(1, 2)",
        "9 ** 9999",
        "lipsum",
        "cycler",
        "joiner()",
        "namespace(v=1)",
    ]
)
_UNARY = [
    "({a}) * {n}",
    "{n} * ({a})",
    "({a}) + ({a})",
    "({a}) ~ ({a})",
    "'%{n}s' % ({a},)",
    "'%*d' % ({n}, 1)",
    "'{{:>{n}}}'.format({a})",
    "'{{:{{}}}}'.format(1, {n})",
    "({a})|center({n})",
    "({a})|indent({n})",
    "({a})|join({a})",
    "({a})|tojson",
    "({a})|tojson(indent={n})",
    "({a})|string|replace('', 'xx')",
    "({a})|string|replace('a', ({a})|string)",
    "({a})|wordwrap({n})",
    "({a})|batch({n})|list",
    "({a})|slice({n})|list",
    "({a})|map('string')|list",
    "({a})|list",
    "({a})|sum(start=[])",
    "({a})|sum",
    "({a})|string|format({a})",
    "({a})|truncate({n})",
    "({a})|pprint",
    "({a})|urlencode",
    "({a})|unique|list",
    "({a})|sort",
    "({a})|dictsort",
    "({a})|xmlattr",
    "({a})|string|title",
    "({a})|filesizeformat",
    "({a})|int ** {n}",
    "(({a})|int + 10) ** 9999 ** 1",
    "({a})|string|center({n})",
    "({a})|string|ljust({n})",
    "({a})|string|zfill({n})",
    "({a})|string|expandtabs({n})",
    "'\\t'.expandtabs({n})",
    "({a})|string|join([{a}, {a}])",
    "({a})|string|split|list",
    "({a})|string|splitlines",
    "({a})|string|format_map({{'x': {a}}})",
    "[{a}, {a}]",
    "{{'a': {a}, 'b': {a}}}",
    "({a}).__class__",
    "({a}).__class__.__mro__",
    "({a})|attr('__class__')",
    "cycler.__init__.__globals__",
    "joiner.__call__",
    "self._TemplateReference__context",
    "range.__self__",
    "({a}).items()",
    "({a}).values()|list",
]
_STATEMENTS = [
    "{{% for i in range({n}) %}}{{% for j in range({n}) %}}{{{{ {a} }}}}"
    "{{% endfor %}}{{% endfor %}}",
    "{{% set ns = namespace(v={a}) %}}{{% for i in range({n}) %}}"
    "{{% set ns.v = [ns.v, ns.v] %}}{{% endfor %}}{{{{ ns.v|tojson|length }}}}",
    "{{% set ns = namespace(v={a}) %}}{{% for i in range({n}) %}}"
    "{{% set ns.v = ns.v ~ ns.v %}}{{% endfor %}}{{{{ ns.v|length }}}}",
    "{{% set ns = namespace(v={a}) %}}{{% for i in range({n}) %}}"
    "{{% set ns.v = ns.v + ns.v %}}{{% endfor %}}{{{{ ns.v|length }}}}",
    "{{% set ns = namespace(v=({a})|string) %}}{{% for i in range({n}) %}}"
    "{{% set ns.v = ns.v.replace('a', ns.v) %}}{{% endfor %}}{{{{ ns.v|length }}}}",
    "{{% set ns = namespace(v=3) %}}{{% for i in range({n}) %}}"
    "{{% set ns.v = ns.v * ns.v %}}{{% endfor %}}{{{{ ns.v > 1 }}}}",
    "{{% macro f(x) %}}{{{{ f(x) }}}}{{% endmacro %}}{{{{ f({a}) }}}}",
    "{{% macro f(x) %}}{{{{ x }}}}{{{{ x }}}}{{% endmacro %}}{{{{ f(f(f(f({a})))) }}}}",
    "{{% for x in {a} recursive %}}{{{{ loop(x) if x is iterable and x is not string }}}}"
    "{{% endfor %}}",
    "{{% filter upper %}}{{{{ {a} }}}}{{% endfilter %}}",
    "{{% with v = {a} %}}{{{{ v }}}}{{{{ v }}}}{{% endwith %}}",
]


@st.composite
def _expression(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(_ATOMS)
    shape = draw(st.sampled_from(_UNARY))
    inner = draw(_expression(depth - 1))
    return shape.format(a=inner, n=draw(_NUMBERS))


@st.composite
def templates(draw: st.DrawFn) -> str:
    """One hostile template: an expression, a statement, deep nesting or a huge literal."""
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        return "{{ " + draw(_expression()) + " }}"
    if kind <= 6:
        shape = draw(st.sampled_from(_STATEMENTS))
        n = draw(st.sampled_from([2, 30, 60, 999, 99999]))
        return shape.format(a=draw(_expression(depth=1)), n=n)
    depth = draw(st.sampled_from([10, 100, 500, 5000, 50000]))
    if kind == 7:
        open_, close = draw(st.sampled_from([("(", ")"), ("[", "]"), ("{'a': ", "}"), ("-", "")]))
        return "{{ " + open_ * depth + "1" + close * depth + " }}"
    if kind == 8:
        block = draw(
            st.sampled_from(
                [("{% if true %}", "{% endif %}"), ("{% for x in [1] %}", "{% endfor %}")]
            )
        )
        return block[0] * min(depth, 500) + "x" + block[1] * min(depth, 500)
    size = draw(st.sampled_from([10**5, 10**6, 5 * 10**6]))
    return "{{ '" + "x" * size + "' * " + str(draw(_NUMBERS)) + " }}"


_JMES_STEPS = st.sampled_from(
    [
        "@",
        "[@,@]",
        "[@,@][]",
        "[@,@,@,@][]",
        "{a:@,b:@}",
        "{a:@,b:@}.*",
        "*",
        "[*]",
        "[]",
        "[][]",
        "to_string(@)",
        "to_array(@)",
        "join(',', map(&to_string(@), @))",
        "sort_by(@, &to_string(@))",
        "map(&[@,@], @)",
        "map(&[@,@], to_array(@))",
        "merge(@, {x:@})",
        "max_by(to_array(@), &length(to_string(@)))",
        "length(@)",
        "keys(@)",
        "values(@)",
        "reverse(to_array(@))",
        "sort(map(&to_string(@), to_array(@)))",
        "[?@]",
        "[::-1]",
        "not_null(@)",
        "to_array(@)[*][@,@][]",
        "items",
        "nested.a[*].[b,c,b,c]",
        '`"' + "x" * 10000 + '"`',
        "'" + "y" * 10000 + "'",
    ]
)


@st.composite
def jmespath_expressions(draw: st.DrawFn) -> str:
    """A pipe of up to 40 steps, or one step nested deeply."""
    if draw(st.integers(0, 7)) == 0:
        depth = draw(st.sampled_from([50, 500, 5000, 50000]))
        open_, close = draw(
            st.sampled_from([("(", ")"), ("[", "]"), ("not_null(", ")"), ("!", "")])
        )
        return open_ * depth + "@" + close * depth
    steps = draw(st.lists(_JMES_STEPS, min_size=1, max_size=40))
    return " | ".join(steps)


_HEADER = "id: fuzz\nnodes:\n  - id: a\n    type: set\n    params:\n      value: "


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """A blueprint whose value (or whole body) is a hostile YAML construct."""
    kind = draw(st.integers(0, 7))
    if kind <= 1:  # billion laughs, with a chosen fan-out and depth
        fan = draw(st.integers(2, 10))
        levels = draw(st.integers(1, 30))
        lines = ["vars:", '  l0: &l0 ["lol"]']
        for i in range(1, levels + 1):
            refs = ", ".join([f"*l{i - 1}"] * fan)
            lines.append(f"  l{i}: &l{i} [{refs}]")
        return "\n".join(lines) + "\n" + _HEADER + f"*l{levels}\n"
    if kind == 2:  # merge keys over aliases
        levels = draw(st.integers(1, 25))
        lines = ["vars:", "  m0: &m0 {a: 1, b: 2}"]
        for i in range(1, levels + 1):
            lines.append(f"  m{i}: &m{i} {{<<: *m{i - 1}, x{i}: *m{i - 1}, y{i}: *m{i - 1}}}")
        return "\n".join(lines) + "\n" + _HEADER + f"*m{levels}\n"
    if kind == 3:  # deep flow nesting
        depth = draw(st.sampled_from([100, 1000, 10000, 100000]))
        open_, close = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        return _HEADER + open_ * depth + "1" + close * depth + "\n"
    if kind == 4:  # deep block nesting
        depth = draw(st.sampled_from([50, 500, 3000]))
        body = "".join("  " * i + "- \n" for i in range(depth))
        return _HEADER + "\n" + body
    if kind == 5:  # a long scalar
        size = draw(st.sampled_from([10**5, 10**6, 10**7]))
        return _HEADER + "x" * size + "\n"
    if kind == 6:  # many keys
        count = draw(st.sampled_from([1000, 100000, 300000]))
        return "vars:\n" + "".join(f"  k{i}: {i}\n" for i in range(count)) + _HEADER + "1\n"
    tag = draw(
        st.sampled_from(
            [
                "!!python/object/apply:os.system ['true']",
                "!!binary aGVsbG8=",
                "!!set {a, b}",
                "!!timestamp 2001-12-14t21:59:43.10-05:00",
                "1" * 100000,
                "0x" + "f" * 100000,
                "1e99999",
                "!!float nan",
                "&a [*a]",
                "*undefined",
            ]
        )
    )
    return _HEADER + tag + "\n"


def hostile_case() -> st.SearchStrategy[tuple[str, str]]:
    """One case: ``("template" | "jmespath" | "yaml", text)``."""
    return st.one_of(
        st.tuples(st.just("template"), templates()),
        st.tuples(st.just("jmespath"), jmespath_expressions()),
        st.tuples(st.just("yaml"), yaml_documents()),
    )
