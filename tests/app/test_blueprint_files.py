"""Reading blueprint files: shapes, every problem with its place and line, malformed text."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.blueprint import Blueprint, EdgeSpec, NodeSpec
from app.blueprint_files import (
    dump_blueprint,
    format_path,
    load_blueprint_file,
    load_blueprint_text,
    parse_blueprint_data,
    with_line_numbers,
)
from app.errors import BlueprintError, Problem

EXAMPLE: dict[str, Any] = {
    "id": "api-processing",
    "name": "API processing",
    "inputs": {"url": {"type": "string", "default": "http://127.0.0.1:8000/items"}},
    "nodes": [
        {
            "id": "fetch",
            "type": "http.request",
            "params": {"url": "{{ inputs.url }}"},
            "retry": {"max_attempts": 3, "delay": 0.2, "backoff": 2.0},
            "timeout": 10,
        },
        {"id": "validate", "type": "json.transform", "params": {"expression": "items"}},
        {"id": "save", "type": "sqlite.write", "params": {"database": "out.db", "table": "t"}},
    ],
    "edges": [
        {"source": "fetch", "target": "validate"},
        {"source": "validate", "target": "save"},
    ],
    "outputs": {"saved": "{{ nodes.save.output }}"},
    "ui": {"positions": {"fetch": [0, 0], "validate": [220, 0], "save": [440, 0]}},
}

YAML_EXAMPLE = """\
id: api-processing
inputs:
  url: {type: string}
nodes:
  - id: fetch
    type: http.request
    params:
      url: "{{ inputs.url }}"
  - id: save
    type: sqlite.write
    params: {database: out.db, table: t}
edges:
  - {source: fetch, target: save}
"""


def problems_of(info: pytest.ExceptionInfo[BlueprintError]) -> dict[str, str]:
    return {p.where: p.message for p in info.value.problems}


def test_parse_valid_data() -> None:
    bp = parse_blueprint_data(EXAMPLE)
    assert isinstance(bp, Blueprint)
    assert [n.id for n in bp.nodes] == ["fetch", "validate", "save"]
    assert bp.edges is not None
    assert bp.edges[0].target == "validate"


def test_parse_lists_every_shape_problem_with_its_place() -> None:
    data = {
        "id": "bad",
        "inputs": {"url": {"type": "strin"}},
        "nodes": [
            {"id": "a", "type": "t", "parmas": {}},
            {"id": "b", "type": "t", "timeout": "abc"},
            {"id": "c", "type": "t", "retry": {"max_attempts": 0}},
            {"type": "t"},
            "not a node",
        ],
        "edges": [{"source": "a"}],
        "extra": 1,
    }
    with pytest.raises(BlueprintError) as info:
        parse_blueprint_data(data, source="bad.json")
    assert info.value.where == "bad.json"
    assert problems_of(info) == {
        "inputs.url.type": "expected 'string', 'number', 'integer', 'boolean', 'object',"
        " 'array' or 'any', got 'strin'",
        "nodes[0].parmas": "unknown field 'parmas' (did you mean 'params'?)",
        "nodes[1].timeout": "expected a number, got 'abc'",
        "nodes[2].retry.max_attempts": "must be >= 1, got 0",
        "nodes[3].id": "missing required field 'id'",
        "nodes[4]": "expected a mapping, got 'not a node'",
        "edges[0].target": "missing required field 'target'",
        "extra": "unknown field 'extra'",
    }
    assert "8 problems" in info.value.message


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        ({"id": ""}, "id", "must not be empty"),
        ({"id": 5}, "id", "expected a string, got 5"),
        ({"id": "x", "nodes": {}}, "nodes", "expected a list, got a mapping"),
        ({"id": "x", "edges": "a->b"}, "edges", "expected a list, got 'a->b'"),
        ({"id": "x", "outputs": [1]}, "outputs", "expected a mapping, got a list"),
        ({"id": "x", "version": "one"}, "version", "expected an integer, got 'one'"),
        (
            {"id": "x", "nodes": [{"id": "a", "type": "t", "when": "sometimes"}]},
            "nodes[0].when",
            "expected 'all_success', 'none_failed', 'any_success' or 'all_done', got 'sometimes'",
        ),
        ({"id": "x", "ui": {"positions": {"a": [1]}}}, "ui.positions.a[1]", "missing item 1"),
    ],
)
def test_messages_are_readable(data: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(BlueprintError) as info:
        parse_blueprint_data(data)
    assert problems_of(info) == {where: message}


@pytest.mark.parametrize("data", [[], "text", 3, None])
def test_top_level_must_be_a_mapping(data: Any) -> None:
    with pytest.raises(BlueprintError, match="mapping"):
        parse_blueprint_data(data, source="x.json")


def test_load_json_and_yaml_files(tmp_path: Path) -> None:
    json_path = tmp_path / "bp.json"
    json_path.write_text(json.dumps(EXAMPLE, indent=2), encoding="utf-8")
    assert load_blueprint_file(json_path) == parse_blueprint_data(EXAMPLE)
    for name in ("bp.yaml", "bp.yml", "bp.conductor"):
        path = tmp_path / name
        path.write_text(YAML_EXAMPLE, encoding="utf-8")
        bp = load_blueprint_file(path)
        assert bp.id == "api-processing"
        assert bp.nodes[0].params == {"url": "{{ inputs.url }}"}


def test_unknown_suffix_tries_json_first(tmp_path: Path) -> None:
    path = tmp_path / "bp.txt"
    path.write_text('{"id": "n", "vars": {"big": 1e5}}', encoding="utf-8")
    assert load_blueprint_file(path).vars == {"big": 100000.0}  # YAML 1.1 would read a string


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "bom"}).encode())
    assert load_blueprint_file(path).id == "bom"


def test_malformed_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "id": "x",\n  "nodes": [,]\n}\n', encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint_file(path)
    assert info.value.where == str(path)
    assert "line 3, column 13" in info.value.message
    assert str(path) in str(info.value)
    assert info.value.problems
    assert "line 3" in info.value.problems[0].message


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nnodes:\n  - id: a\n    type: [unclosed\n", encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint_file(path)
    assert info.value.where == str(path)
    assert "invalid YAML on line 5" in info.value.message


def test_shape_problems_in_a_file_get_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "shape.json"
    data = {
        "id": "x",
        "nodes": [{"id": "a", "type": "t", "timeout": "soon"}, {"id": "b", "type": "t"}],
        "edges": [{"source": "a", "targt": "b"}],
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint_file(path)
    wheres = [p.where for p in info.value.problems]
    assert "nodes[0].timeout (line 7)" in wheres
    assert "edges[0].targt (line 17)" in wheres
    assert "edges[0].target (line 15)" in wheres  # missing: the line of its mapping


def test_yaml_shape_problems_get_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "shape.yaml"
    path.write_text(YAML_EXAMPLE.replace("type: sqlite.write", "typ: sqlite.write"), "utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint_file(path)
    wheres = {p.where for p in info.value.problems}
    assert wheres == {"nodes[1].typ (line 10)", "nodes[1].type (line 9)"}


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "dup.json",
            '{"id": "x",\n "nodes": [{"id": "a", "type": "t",\n "type": "u"}]}',
            "nodes[0].type (line 3)",
        ),
        ("dup.yaml", "id: x\nid: y\n", "id (line 2)"),
    ],
)
def test_duplicate_keys_are_reported(tmp_path: Path, name: str, text: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint_file(path)
    first = info.value.problems[0]
    assert first.where == where
    assert "duplicate key" in first.message


def test_self_containing_yaml_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("id: x\nvars:\n  loop: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint_file(path)
    assert any("alias contains itself" in p.message for p in info.value.problems)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"- 1\n- 2\n", "mapping"),
        (b"just a string\n", "mapping"),
        (b"id: a\n---\nid: b\n", "single document"),
        (b"id: !!python/object:os.system x\n", "invalid YAML"),
    ],
)
def test_unusable_files_name_the_file(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bp.yaml"
    path.write_bytes(content)
    with pytest.raises(BlueprintError) as info:
        load_blueprint_file(path)
    assert info.value.where == str(path)
    assert fragment in info.value.message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError, match="cannot read") as info:
        load_blueprint_file(tmp_path / "nope.json")
    assert info.value.where == str(tmp_path / "nope.json")
    with pytest.raises(BlueprintError, match="directory"):
        load_blueprint_file(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    path.write_text('{"id": "x"}', encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(BlueprintError, match="cannot read"):
            load_blueprint_file(path)
    finally:
        path.chmod(0o600)


def test_permission_denied_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.json"
    path.write_text('{"id": "x"}', encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(BlueprintError, match="Permission denied") as info:
        load_blueprint_file(path)
    assert info.value.where == str(path)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_dump_round_trips(tmp_path: Path, fmt: Any) -> None:
    bp = parse_blueprint_data(EXAMPLE)
    text = dump_blueprint(bp, fmt)
    assert text.endswith("\n")
    path = tmp_path / f"saved.{fmt}"
    path.write_text(text, encoding="utf-8")
    assert load_blueprint_file(path) == bp


def test_dump_json_is_tidy_and_keeps_sequential_distinct() -> None:
    sequential = Blueprint(id="s", nodes=[NodeSpec(id="a", type="t")])
    text = dump_blueprint(sequential, "json")
    assert json.loads(text) == {"id": "s", "nodes": [{"id": "a", "type": "t"}]}
    assert '\n  "nodes": [\n' in text
    graph = Blueprint(id="g", nodes=[], edges=[])
    assert json.loads(dump_blueprint(graph, "json"))["edges"] == []
    assert parse_blueprint_data(json.loads(dump_blueprint(graph, "json"))).edges == []
    edged = Blueprint(id="e", edges=[EdgeSpec(source="a", target="b")])
    assert json.loads(dump_blueprint(edged))["edges"] == [{"source": "a", "target": "b"}]


def test_format_path() -> None:
    assert format_path(("nodes", 2, "params", "url")) == "nodes[2].params.url"
    assert format_path(("headers", "Content-Type"), "nodes[0].params") == (
        'nodes[0].params.headers["Content-Type"]'
    )
    assert format_path(()) == ""


def test_with_line_numbers_for_any_problem() -> None:
    text = json.dumps(
        {"id": "x", "nodes": [{"id": "a", "type": "t", "params": {"Content-Type": "z"}}]},
        indent=2,
    )
    problems = [
        Problem(where="nodes[0].type", message="unknown node type"),
        Problem(where='nodes[0].params["Content-Type"]', message="bad"),
        Problem(where="", message="no place"),
        Problem(where="edges: cycle", message="not a path"),
    ]
    out = with_line_numbers(problems, text)
    assert [p.where for p in out] == [
        "nodes[0].type (line 6)",
        'nodes[0].params["Content-Type"] (line 8)',
        "",
        "edges: cycle",
    ]
    assert with_line_numbers(problems, "{ not: [valid") == problems


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=25,
)
blueprint_keys = st.sampled_from(
    [
        "id",
        "nodes",
        "edges",
        "inputs",
        "outputs",
        "vars",
        "ui",
        "version",
        "type",
        "params",
        "source",
        "target",
        "retry",
        "timeout",
        "when",
        "positions",
        "max_attempts",
    ]
)
blueprint_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | blueprint_keys,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(blueprint_keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_like | blueprint_like)
def test_parse_never_raises_anything_but_blueprint_error(data: Any) -> None:
    try:
        parse_blueprint_data(data)
    except BlueprintError as exc:
        error = exc
    else:
        return
    assert error.problems
    assert all(problem.message for problem in error.problems)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_loading_any_text_raises_only_blueprint_error(text: str) -> None:
    places = set()
    for fmt in ("json", "yaml", None):
        try:
            load_blueprint_text(text, "t.txt", fmt)
        except BlueprintError as exc:
            places.add(exc.where)
    assert places <= {"t.txt"}


def _alias_levels(levels: int, width: int = 10) -> str:
    """A YAML document whose aliases stand for ``width ** levels`` strings."""
    lines = ["id: aliases", "nodes: []", f"l0: &l0 [{', '.join(['x'] * width)}]"]
    for level in range(1, levels):
        items = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{items}]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_without_expanding_it() -> None:
    # 10**9 values from a 600-byte document: it would hang every later walk of the data.
    text = _alias_levels(9)
    with pytest.raises(BlueprintError) as info:
        load_blueprint_text(text, "bomb.yaml", "yaml")
    assert info.value.where == "bomb.yaml"
    assert "aliases expand to more than 1,000,000 values" in info.value.problems[0].message


def test_yaml_aliases_below_the_bound_still_load() -> None:
    # 10**4 values: an ordinary use of anchors stays legal (then fails only on the extra keys).
    with pytest.raises(BlueprintError) as info:
        load_blueprint_text(_alias_levels(4), "fine.yaml", "yaml")
    assert all("aliases expand" not in p.message for p in info.value.problems)
    assert any(p.where.startswith("l0") for p in info.value.problems)


def test_yaml_that_takes_too_long_to_read_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by tests/reliability/test_hostile_fuzz.py: 300,000 keys read for ~6 s with
    # nothing to stop them (on the loop of whoever loaded the blueprint).
    import gc
    import time

    from app import blueprint_files

    monkeypatch.setattr(blueprint_files, "YAML_TIME_BUDGET", 0.05)
    text = "id: many\nnodes: []\nvars:\n" + "".join(f"  k{i}: {i}\n" for i in range(300_000))
    began = time.monotonic()
    gc.disable()  # Hypothesis's gc callback would swallow the interruption (a known gap)
    try:
        with pytest.raises(BlueprintError) as info:
            load_blueprint_text(text, "many.yaml", "yaml")
    finally:
        gc.enable()
    # Reading it whole takes ~6 s here; stopped at the budget (plus a tick).
    assert time.monotonic() - began < 3
    assert "took longer than 0.05 s" in info.value.problems[0].message
