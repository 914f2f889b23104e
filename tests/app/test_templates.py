"""Templates: native values, strings, the sandbox, errors with their place, analysis."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import TemplateError
from app.template_refs import template_references
from app.templates import (
    TEMPLATE_NAMES,
    compile_template,
    compile_value,
    is_template,
    join_path,
)

WHERE = "nodes[1].params.url"


@pytest.fixture
def context() -> dict[str, Any]:
    return {
        "inputs": {"url": "http://example.test", "n": 3, "tags": ["a", "b"]},
        "nodes": {
            "fetch": {"output": {"items": [1, 2, 3], "ok": True}},
            "items": {"output": "a node called items"},
        },
        "input": {"name": "Ada", "count": 2},
        "vars": {"k": "v"},
        "execution": {"id": "exec-1"},
    }


def render(source: str, context: dict[str, Any]) -> Any:
    return compile_template(source, WHERE).render(context)


def test_is_template() -> None:
    assert is_template("{{ x }}")
    assert is_template("a {% if x %}b{% endif %}")
    assert not is_template("plain { text }")
    assert not is_template("{# only a comment #}")
    assert sorted(TEMPLATE_NAMES) == ["execution", "input", "inputs", "nodes", "trigger", "vars"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ nodes.fetch.output['items'] }}", [1, 2, 3]),
        ("{{ inputs.n }}", 3),
        ("  {{ inputs.n + 1 }}\n", 4),
        ("{{ nodes.fetch.output.ok }}", True),
        ("{{ input }}", {"name": "Ada", "count": 2}),
        ("{{ [inputs.n, input.count] }}", [3, 2]),
        ("{{ {'a': {'b': inputs.n}} }}", {"a": {"b": 3}}),
        ("{{- inputs.tags -}}", ["a", "b"]),
        ("{{ none }}", None),
    ],
)
def test_single_expression_yields_native_value(
    source: str, expected: Any, context: dict[str, Any]
) -> None:
    template = compile_template(source, WHERE)
    assert template.is_native
    assert template.render(context) == expected


def test_native_list_is_the_same_object(context: dict[str, Any]) -> None:
    assert render("{{ inputs.tags }}", context) is context["inputs"]["tags"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("GET {{ inputs.url }}/items", "GET http://example.test/items"),
        ("{{ inputs.n }}{{ input.count }}", "32"),
        ("{% if input.count > 1 %}many{% else %}one{% endif %}", "many"),
        ("{% for t in inputs.tags %}{{ t }},{% endfor %}", "a,b,"),
        ("line {{ inputs.n }}\n", "line 3\n"),
        ("{{ execution.id }}-{{ vars.k }}", "exec-1-v"),
        ("{{ input.items() | list | length }}", 2),
    ],
)
def test_other_templates_render_to_strings(
    source: str, expected: Any, context: dict[str, Any]
) -> None:
    assert render(source, context) == expected


def test_keys_win_over_dict_methods(context: dict[str, Any]) -> None:
    assert render("{{ nodes.items.output }}", context) == "a node called items"
    assert render("{{ nodes['items'].output }}", context) == "a node called items"


def test_missing_key_names_the_key_and_what_exists(context: dict[str, Any]) -> None:
    with pytest.raises(TemplateError) as info:
        render("{{ nodes.fech.output }}", context)
    err = info.value
    assert err.where == WHERE
    assert "{{ nodes.fech.output }}" in err.message
    assert "'fech'" in err.message
    assert "'fetch'" in err.message


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{{ missing }}", "'missing' is undefined"),
        ("{{ inputs.url.host }}", "has no attribute 'host'"),
        ("a {{ nope }} b", "'nope' is undefined"),
        ("{{ [1, nope] }}", "'nope' is undefined"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ inputs['zz'] }}", "'zz'"),
    ],
)
def test_render_failures_are_template_errors(
    source: str, fragment: str, context: dict[str, Any]
) -> None:
    with pytest.raises(TemplateError) as info:
        render(source, context)
    assert fragment in info.value.message
    assert info.value.where == WHERE


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "x {{ input.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ inputs.tags.append(1) }}",
        "{{ input.update({'a': 1}) }}",
        "{{ 'a' * 100000000 }}",
        "{{ [0] * 100000000 }}",
        "{{ 2 ** 1000000 }}",
    ],
)
def test_sandbox_refuses_unsafe_access(source: str, context: dict[str, Any]) -> None:
    before = {"tags": list(context["inputs"]["tags"]), "input": dict(context["input"])}
    with pytest.raises(TemplateError):
        render(source, context)
    assert context["inputs"]["tags"] == before["tags"]
    assert context["input"] == before["input"]


def test_syntax_error_raised_at_compile_time_with_line() -> None:
    with pytest.raises(TemplateError) as info:
        compile_template("first\nsecond\n{% if x %}never closed", WHERE)
    assert info.value.where == WHERE
    assert "line 3" in info.value.message


def test_unknown_filter_is_a_compile_error() -> None:
    with pytest.raises(TemplateError, match="nofilter"):
        compile_template("{{ x | nofilter }}", WHERE)


def test_same_source_compiles_once_but_keeps_its_own_place(context: dict[str, Any]) -> None:
    a = compile_template("{{ nope }}", "nodes[0].params.a")
    b = compile_template("{{ nope }}", "nodes[5].params.b")
    for template, where in ((a, "nodes[0].params.a"), (b, "nodes[5].params.b")):
        with pytest.raises(TemplateError) as info:
            template.render(context)
        assert info.value.where == where


def test_compile_value_without_templates_is_none() -> None:
    assert compile_value({"a": [1, "x", {"b": None}], "c": "{ not a template }"}, "p") is None
    assert compile_value(42, "p") is None
    assert compile_value("plain", "p") is None


def test_compile_value_renders_nested_and_reuses_the_rest(context: dict[str, Any]) -> None:
    shared = {"big": list(range(100))}
    value = {
        "url": "{{ inputs.url }}/x",
        "headers": {"Authorization": "Bearer {{ vars.k }}", "Accept": "json"},
        "items": [1, 2, "{{ inputs.tags }}"],
        "static": shared,
        "pair": ("{{ inputs.n }}", 5),
    }
    template = compile_value(value, "nodes[0].params")
    assert template is not None
    out = template.render(context)
    assert out == {
        "url": "http://example.test/x",
        "headers": {"Authorization": "Bearer v", "Accept": "json"},
        "items": [1, 2, ["a", "b"]],
        "static": shared,
        "pair": (3, 5),
    }
    assert out["static"] is shared
    assert value["url"] == "{{ inputs.url }}/x"  # the original is left untouched
    assert value["items"] == [1, 2, "{{ inputs.tags }}"]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"headers": {"Authorization": "{{ nope }}"}}, "nodes[0].params.headers.Authorization"),
        ({"items": [0, 1, "{{ nope }}"]}, "nodes[0].params.items[2]"),
        ({"headers": {"Content-Type": "{{ nope }}"}}, 'nodes[0].params.headers["Content-Type"]'),
    ],
)
def test_nested_failures_carry_their_path(value: Any, where: str, context: dict[str, Any]) -> None:
    template = compile_value(value, "nodes[0].params")
    assert template is not None
    with pytest.raises(TemplateError) as info:
        template.render(context)
    assert info.value.where == where


def test_compile_value_reports_syntax_errors_with_path() -> None:
    with pytest.raises(TemplateError) as info:
        compile_value({"a": ["ok", "{{ broken "]}, "nodes[2].params")
    assert info.value.where == "nodes[2].params.a[1]"


def test_join_path() -> None:
    assert join_path("", "nodes") == "nodes"
    assert join_path("nodes", 2) == "nodes[2]"
    assert join_path("nodes[2].params", "url") == "nodes[2].params.url"
    assert join_path("h", 'a"b') == 'h["a\\"b"]'
    assert join_path("h", "a.b") == 'h["a.b"]'


def test_template_references() -> None:
    refs = template_references(
        "{{ nodes.fetch.output.items[0] }} {{ nodes['save'].output }} {{ nodes[x].y }}"
        " {{ inputs.url | upper }} {{ foo }} {% for i in range(3) %}{{ i }}{% endfor %}"
        " {{ nodes.get('other') }} {{ input }}"
    )
    assert refs.names == {"nodes", "inputs", "foo", "x", "input"}
    assert set(refs.nodes) == {("fetch", "output", "items", 0), ("save", "output")}
    assert refs.inputs == (("url",),)


def test_template_references_ignores_shadowed_roots() -> None:
    refs = template_references("{% set nodes = {'a': 1} %}{{ nodes.zzz }}")
    assert "nodes" not in refs.names
    assert refs.nodes == ()


def test_template_references_reports_syntax_errors() -> None:
    with pytest.raises(TemplateError, match="line 2"):
        template_references("ok\n{{ a +  }}", WHERE)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}%#|.()[]'\"+-*/~ xab12_\n")), max_size=40))
def test_any_text_fails_only_with_template_error(text: str) -> None:
    context = {"x": {"a": [1, 2]}, "a": 1, "b": "s"}
    try:
        template = compile_template(text, WHERE)
        template.render(context)
        template_references(text)
    except TemplateError as exc:
        error = exc
    else:
        return
    assert error.where in (WHERE, "")


plain_text = st.text(alphabet=st.characters(blacklist_characters="{"), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | plain_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(plain_text, inner),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_values_without_templates_are_reused_untouched(value: Any) -> None:
    assert compile_value(value, "p") is None
    template = compile_value({"v": value, "t": "{{ input }}"}, "p")
    assert template is not None
    out = template.render({"input": 7})
    assert out == {"v": value, "t": 7}
    assert out["v"] is value
