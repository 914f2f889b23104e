"""The editor model on its own: no Qt, every rule and every inverse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.blueprint import Blueprint, EdgeSpec, NodeSpec
from app.results import NodeTypeInfo
from renderer.editor.errors import EdgeRefusal, EdgeRefusedError, EditError
from renderer.editor.facts import (
    EdgeChanged,
    EdgeInserted,
    EdgeRemoved,
    Fact,
    ModelReset,
    NodeInserted,
    NodeRemoved,
    NodeRenamed,
)
from renderer.editor.model import UNSET, EditorModel
from renderer.editor.node_catalog import NodeTypeCatalog

ROOT = Path(__file__).resolve().parents[2]


def _bp() -> Blueprint:
    return Blueprint.model_validate(
        {
            "id": "demo",
            "name": "Demo",
            "inputs": {"url": {"type": "string"}},
            "nodes": [
                {"id": "fetch", "type": "http.request", "params": {"url": "{{ inputs.url }}"}},
                {"id": "check", "type": "if", "params": {"condition": "{{ input.ok }}"}},
                {
                    "id": "save",
                    "type": "sqlite.write",
                    "params": {"database": "a.db", "table": "t"},
                },
                {"id": "report", "type": "log", "params": {"message": "{{ nodes.fetch.output }}"}},
            ],
            "edges": [
                {"source": "fetch", "target": "check"},
                {"source": "check", "target": "save", "source_port": "true"},
                {"source": "check", "target": "report", "source_port": "false"},
                {"source": "fetch", "target": "report"},
            ],
            "outputs": {"body": "fetch", "text": "{{ nodes.fetch.output.text }}"},
            "ui": {"positions": {"fetch": [0, 0], "check": [260, 0], "save": [520, -70]}},
        }
    )


@pytest.fixture
def model(node_types: list[NodeTypeInfo]) -> EditorModel:
    m = EditorModel(NodeTypeCatalog(node_types))
    m.from_blueprint(_bp())
    return m


def test_the_model_imports_no_qt() -> None:
    code = (
        "import sys, renderer.editor.model, renderer.editor.clipboard, renderer.canvas.layout;"
        "bad = [m for m in sys.modules if m.startswith('PySide6')]; sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False)
    assert done.returncode == 0


def test_round_trip_keeps_the_blueprint(model: EditorModel) -> None:
    assert model.to_blueprint() == _bp()


def test_automation_fields_survive_an_edit(node_types: list[NodeTypeInfo]) -> None:
    """Triggers, the concurrency limit and the error handler have no form in the
    editor; opening, editing and saving a blueprint keeps them (they were dropped)."""
    m = EditorModel(NodeTypeCatalog(node_types))
    bp = Blueprint.model_validate(
        {
            "id": "auto",
            "nodes": [{"id": "a", "type": "set"}],
            "triggers": [
                {"kind": "schedule", "name": "nightly", "cron": "0 3 * * *", "missed": "run_once"},
                {"kind": "webhook", "name": "hook", "respond": "at_once"},
            ],
            "concurrency": {"limit": 2, "on_limit": "skip"},
            "error_handler": "notify",
        }
    )
    m.from_blueprint(bp)
    m.set_blueprint_field("description", "edited")
    saved = Blueprint.model_validate_json(m.to_blueprint().model_dump_json())
    assert saved.triggers == bp.triggers
    assert saved.concurrency == bp.concurrency
    assert saved.error_handler == "notify"
    assert saved.description == "edited"


def test_sequential_blueprints_stay_sequential(node_types: list[NodeTypeInfo]) -> None:
    m = EditorModel(NodeTypeCatalog(node_types))
    bp = Blueprint.model_validate(
        {"id": "s", "nodes": [{"id": "a", "type": "set"}, {"id": "b", "type": "set"}]}
    )
    m.from_blueprint(bp)
    assert m.is_sequential
    assert m.to_blueprint().edges is None
    assert m.edge_pairs() == [("a", "b")]
    m.insert_edge(0, EdgeSpec(source="a", target="b"))
    assert not m.is_sequential
    m.remove_edge(0)
    assert m.to_blueprint() == bp


def test_fill_positions_lays_out_missing_nodes(node_types: list[NodeTypeInfo]) -> None:
    m = EditorModel(NodeTypeCatalog(node_types))
    m.from_blueprint(_bp(), fill_positions=True)
    assert m.position("fetch") == (0.0, 0.0)  # kept
    report = m.position("report")
    assert report is not None
    assert report[0] > m.position("check")[0]  # type: ignore[index]


def test_remove_then_restore_puts_node_and_edges_back_exactly(model: EditorModel) -> None:
    before = model.to_blueprint()
    removed = model.remove_node("check")
    assert removed.index == 1
    assert [k for k, _ in removed.edges] == [0, 1, 2]
    assert [(e.source, e.target) for e in model.edges] == [("fetch", "report")]
    model.restore_node(removed)
    assert model.to_blueprint() == before
    assert model.to_blueprint().model_dump_json() == before.model_dump_json()


def test_facts_are_told_after_each_change(model: EditorModel) -> None:
    facts: list[Fact] = []
    model.add_listener(facts.append)
    model.remove_node("report")
    assert facts == [
        EdgeRemoved(3, EdgeSpec(source="fetch", target="report")),
        EdgeRemoved(2, EdgeSpec(source="check", target="report", source_port="false")),
        NodeRemoved(3, "report"),
    ]
    facts.clear()
    model.insert_node(0, NodeSpec(id="first", type="set"), (1.0, 2.0))
    model.insert_edge(0, EdgeSpec(source="first", target="fetch"))
    assert facts == [
        NodeInserted(0, "first"),
        EdgeInserted(0, EdgeSpec(source="first", target="fetch")),
    ]
    facts.clear()
    model.from_blueprint(_bp())
    assert facts == [ModelReset()]


@pytest.mark.parametrize(
    ("edge", "reason"),
    [
        (EdgeSpec(source="fetch", target="fetch"), EdgeRefusal.SELF_LOOP),
        (EdgeSpec(source="fetch", target="check"), EdgeRefusal.DUPLICATE),
        (EdgeSpec(source="save", target="fetch"), EdgeRefusal.CYCLE),
        (EdgeSpec(source="report", target="check"), EdgeRefusal.CYCLE),
        (EdgeSpec(source="check", target="save", source_port="maybe"), EdgeRefusal.UNKNOWN_PORT),
        (EdgeSpec(source="fetch", target="save", source_port="out"), EdgeRefusal.UNKNOWN_PORT),
        (EdgeSpec(source="ghost", target="save"), EdgeRefusal.UNKNOWN_NODE),
    ],
)
def test_connections_the_rules_refuse(
    model: EditorModel, edge: EdgeSpec, reason: EdgeRefusal
) -> None:
    before = model.to_blueprint()
    with pytest.raises(EdgeRefusedError) as caught:
        model.insert_edge(len(model.edges), edge)
    assert caught.value.reason is reason
    assert str(caught.value)  # a sentence a person can read
    assert model.to_blueprint() == before


def test_allowed_connections(model: EditorModel) -> None:
    model.insert_edge(4, EdgeSpec(source="check", target="save", source_port="false"))
    model.insert_edge(5, EdgeSpec(source="save", target="report"))
    assert len(model.edges) == 6


def test_switch_ports_follow_its_cases(model: EditorModel) -> None:
    model.insert_node(4, NodeSpec(id="route", type="switch", params={"cases": ["a", "b"]}))
    assert model.output_ports("route") == ["a", "b", "default"]
    model.insert_edge(0, EdgeSpec(source="route", target="save", source_port="b"))
    with pytest.raises(EdgeRefusedError):
        model.check_edge(EdgeSpec(source="route", target="save", source_port="c"))
    model.set_node_field("route", ("params", "cases"), ["a", "b", "c"])
    model.check_edge(EdgeSpec(source="route", target="save", source_port="c"))
    model.set_node_field("route", ("params", "cases"), "{{ input.kinds }}")
    assert model.output_ports("route") is None  # known only at run time


def test_set_node_field_validates_and_returns_the_old_spec(model: EditorModel) -> None:
    old = model.set_node_field("fetch", ("params", "method"), "POST")
    assert old.params == {"url": "{{ inputs.url }}"}
    assert model.node("fetch").params == {"url": "{{ inputs.url }}", "method": "POST"}
    model.set_node_field("fetch", ("retry", "max_attempts"), 3)
    retry = model.node("fetch").retry
    assert retry is not None
    assert retry.max_attempts == 3
    model.set_node_field("fetch", ("timeout",), 10)
    assert model.node("fetch").timeout == 10
    model.set_node_field("fetch", ("timeout",), UNSET)
    assert model.node("fetch").timeout is None
    model.set_node_field("fetch", ("params", "method"), UNSET)
    assert "method" not in model.node("fetch").params
    with pytest.raises(EditError, match="timeout"):
        model.set_node_field("fetch", ("timeout",), -1)
    with pytest.raises(EditError, match="max_attempts"):
        model.set_node_field("fetch", ("retry", "max_attempts"), 0)
    with pytest.raises(EditError):
        model.set_node_field("fetch", ("when",), "sometimes")
    with pytest.raises(EditError):
        model.set_node_field("fetch", ("type",), "other")


def test_rename_follows_edges_positions_and_templates(model: EditorModel) -> None:
    before = model.to_blueprint()
    facts: list[Fact] = []
    model.add_listener(facts.append)
    record = model.rename_node("fetch", "download")
    assert facts[0] == NodeRenamed(0, "fetch", "download")
    assert sum(isinstance(f, EdgeChanged) for f in facts) == 2
    bp = model.to_blueprint()
    assert bp.nodes[0].id == "download"
    assert (bp.edges or [])[0].source == "download"
    assert bp.ui.positions["download"] == (0.0, 0.0)
    assert bp.nodes[3].params == {"message": "{{ nodes.download.output }}"}
    assert bp.outputs == {"body": "download", "text": "{{ nodes.download.output.text }}"}
    with pytest.raises(EditError, match="already"):
        model.rename_node("download", "check")
    model.undo_rename(record)
    assert model.to_blueprint() == before


def test_rename_to_a_non_identifier_uses_brackets(model: EditorModel) -> None:
    model.rename_node("fetch", "get-items")
    assert model.node("report").params == {"message": "{{ nodes['get-items'].output }}"}


def test_insert_refuses_a_taken_id(model: EditorModel) -> None:
    with pytest.raises(EditError, match="already"):
        model.insert_node(0, NodeSpec(id="fetch", type="set"))
    with pytest.raises(EditError, match="empty"):
        model.insert_node(0, NodeSpec(id=" ", type="set"))


def test_blueprint_fields(model: EditorModel) -> None:
    old = model.set_blueprint_field("name", "Renamed")
    assert old == "Demo"
    assert model.to_blueprint().name == "Renamed"
    with pytest.raises(EditError):
        model.set_blueprint_field("version", "not a number")
    with pytest.raises(EditError):
        model.set_blueprint_field("nodes", [])


def test_fresh_ids(model: EditorModel) -> None:
    assert model.fresh_id("fetch") == "fetch_1"
    model.insert_node(0, NodeSpec(id="fetch_1", type="set"))
    assert model.fresh_id("fetch") == "fetch_2"
    assert NodeTypeCatalog.id_base("http.request") == "request"
    assert NodeTypeCatalog.id_base("if") == "if"
