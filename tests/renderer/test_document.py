"""The document: every command undoes and redoes exactly; files, clipboard, dirty flag."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.blueprint import EdgeSpec
from app.blueprint_files import load_blueprint_file
from app.errors import Problem
from app.results import NodeTypeInfo
from renderer.editor.document import EditorDocument
from renderer.editor.errors import EdgeRefusal, EdgeRefusedError, EditError
from renderer.editor.model import UNSET

DEMO = {
    "id": "demo",
    "name": "Demo",
    "inputs": {"url": {"type": "string"}},
    "nodes": [
        {"id": "fetch", "type": "http.request", "params": {"url": "{{ inputs.url }}"}},
        {"id": "check", "type": "if", "params": {"condition": "{{ input.ok }}"}},
        {"id": "save", "type": "sqlite.write", "params": {"database": "a.db", "table": "t"}},
        {"id": "report", "type": "log", "params": {"message": "{{ nodes.fetch.output }}"}},
    ],
    "edges": [
        {"source": "fetch", "target": "check"},
        {"source": "check", "target": "save", "source_port": "true"},
        {"source": "check", "target": "report", "source_port": "false"},
        {"source": "fetch", "target": "report"},
    ],
    "outputs": {"body": "fetch"},
    "ui": {
        "positions": {"fetch": [0, 0], "check": [270, 0], "save": [540, -60], "report": [540, 80]}
    },
}


def _dump(doc: EditorDocument) -> str:
    """The blueprint as JSON text: compares order as well as content."""
    return doc.to_blueprint().model_dump_json()


EDITS: dict[str, Callable[[EditorDocument], object]] = {
    "add node": lambda d: d.add_node("delay", (800.0, 0.0)),
    "add node at index": lambda d: d.add_node("merge"),
    "remove middle node with edges": lambda d: d.remove_selection(["check"]),
    "remove first node": lambda d: d.remove_selection(["fetch"]),
    "connect": lambda d: d.connect_nodes("check", "save", "false"),
    "disconnect": lambda d: d.disconnect_edge(1),
    "remove edges and nodes": lambda d: d.remove_selection(["save"], [0, 3]),
    "move": lambda d: d.move_nodes({"save": (10.0, 20.0), "fetch": (-5.0, 3.0)}),
    "change param": lambda d: d.set_node_field("fetch", ("params", "method"), "POST"),
    "clear param": lambda d: d.set_node_field("fetch", ("params", "url"), UNSET),
    "change retry": lambda d: d.set_node_field("fetch", ("retry", "max_attempts"), 3),
    "change timeout": lambda d: d.set_node_field("fetch", ("timeout",), 2.5),
    "change join rule": lambda d: d.set_node_field("report", ("when",), "all_done"),
    "rename": lambda d: d.rename_node("fetch", "download"),
    "rename via field": lambda d: d.set_node_field("check", ("id",), "gate"),
    "blueprint name": lambda d: d.set_blueprint_field("name", "Other"),
    "auto layout": lambda d: d.auto_layout(),
    "paste": lambda d: d.paste(d.copy(["fetch", "check"])),
    "pin output": lambda d: d.set_pin("check", {"ok": True}),
    "disable node": lambda d: d.set_disabled("save", True),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_every_edit_undoes_and_redoes_exactly(
    doc: EditorDocument, edit: Callable[[EditorDocument], object]
) -> None:
    before = _dump(doc)
    edit(doc)
    after = _dump(doc)
    assert after != before
    assert doc.is_dirty
    assert doc.undo_stack.count() == 1  # one user action, one undo step
    doc.undo_stack.undo()
    assert _dump(doc) == before
    assert not doc.is_dirty
    doc.undo_stack.redo()
    assert _dump(doc) == after


def test_a_long_session_unwinds_to_the_start(doc: EditorDocument) -> None:
    before = _dump(doc)
    doc.add_node("delay")
    doc.connect_nodes("check", "save", "false")
    doc.move_nodes({"save": (1.0, 2.0)}, drag_id=1)
    doc.set_node_field("fetch", ("params", "method"), "POST")
    doc.rename_node("fetch", "download")
    doc.paste(doc.copy(["download", "check"]))
    doc.remove_selection(["check"], [0])
    doc.connect_nodes("download", "delay_1")
    doc.auto_layout()
    doc.set_blueprint_field("name", "Other")
    doc.disconnect_edge(0)
    assert doc.undo_stack.count() == 11
    middle = _dump(doc)
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert _dump(doc) == before
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert _dump(doc) == middle


def test_moves_of_one_drag_merge_into_one_step(doc: EditorDocument) -> None:
    start = doc.model.position("save")
    for step in range(1, 11):
        doc.move_nodes({"save": (540.0 + step, -60.0 + step)}, drag_id=7)
        doc.move_nodes({"report": (540.0 + step, 80.0)}, drag_id=7)
    assert doc.undo_stack.count() == 1
    assert doc.model.position("save") == (550.0, -50.0)
    doc.move_nodes({"save": (0.0, 0.0)}, drag_id=8)  # a new drag: a new step
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.model.position("save") == start
    assert doc.model.position("report") == (540.0, 80.0)


def test_a_drag_that_ends_where_it_began_leaves_no_step(doc: EditorDocument) -> None:
    doc.move_nodes({"save": (1.0, 1.0)}, drag_id=3)
    doc.move_nodes({"save": (540.0, -60.0)}, drag_id=3)
    assert doc.undo_stack.count() == 0


def test_field_edits_merge_only_when_asked(doc: EditorDocument) -> None:
    for n in (2, 3, 4):
        doc.set_node_field("fetch", ("retry", "max_attempts"), n, merge=True)
    assert doc.undo_stack.count() == 1
    doc.set_node_field("fetch", ("timeout",), 1.0)
    doc.set_node_field("fetch", ("timeout",), 2.0)
    assert doc.undo_stack.count() == 3


def test_refused_edits_change_nothing(doc: EditorDocument) -> None:
    before = _dump(doc)
    with pytest.raises(EdgeRefusedError) as caught:
        doc.connect_nodes("save", "fetch")
    assert caught.value.reason is EdgeRefusal.CYCLE
    with pytest.raises(EditError):
        doc.rename_node("fetch", "save")
    with pytest.raises(EditError):
        doc.set_node_field("fetch", ("timeout",), "soon")
    with pytest.raises(EditError):
        doc.add_node("set", node_id="fetch")
    assert _dump(doc) == before
    assert doc.undo_stack.count() == 0


def test_first_edge_in_a_sequence_keeps_the_order(
    qapp: object, node_types: list[NodeTypeInfo]
) -> None:
    d = EditorDocument(node_types)
    d.new("seq")
    for _ in range(3):
        d.add_node("set")
    assert d.model.is_sequential
    d.connect_nodes("set_1", "set_3")
    pairs = [(e.source, e.target) for e in d.model.edges]
    assert pairs == [("set_1", "set_2"), ("set_2", "set_3"), ("set_1", "set_3")]
    d.undo_stack.undo()
    assert d.model.is_sequential
    assert d.to_blueprint().edges is None


def test_a_port_wire_between_chained_nodes_replaces_their_implicit_link(
    qapp: object, node_types: list[NodeTypeInfo]
) -> None:
    """``if`` then ``set`` dropped in order, then a wire from ``true``: one edge, with its
    port (a port-less link beside it once made ``set`` run on either branch)."""
    d = EditorDocument(node_types)
    d.new("branch")
    d.add_node("if")
    d.add_node("set")
    d.connect_nodes("if_1", "set_1", "true")
    assert list(d.model.edges) == [EdgeSpec(source="if_1", target="set_1", source_port="true")]
    saved = d.to_blueprint()
    assert saved.edges == [EdgeSpec(source="if_1", target="set_1", source_port="true")]
    d.undo_stack.undo()
    assert d.model.is_sequential


def test_paste_is_one_step_with_fresh_ids(doc: EditorDocument) -> None:
    text = doc.copy(["check", "save", "fetch"])
    pasted = doc.paste(text)
    assert pasted == ["fetch_1", "check_1", "save_1"]
    assert doc.undo_stack.count() == 1
    edges = [(e.source, e.target, e.source_port) for e in doc.model.edges[4:]]
    assert edges == [
        ("fetch_1", "check_1", None),
        ("check_1", "save_1", "true"),
    ]
    assert doc.model.position("fetch_1") == (40.0, 40.0)
    doc.undo_stack.undo()
    assert doc.model.node_ids() == ["fetch", "check", "save", "report"]


def test_paste_rewrites_references_among_pasted_nodes(doc: EditorDocument) -> None:
    pasted = doc.paste(doc.copy(["fetch", "report"]), at=(1000.0, 500.0))
    assert pasted == ["fetch_1", "report_1"]
    assert doc.model.node("report_1").params == {"message": "{{ nodes.fetch_1.output }}"}
    assert doc.model.position("fetch_1") == (1000.0, 500.0)


def test_copy_then_paste_into_another_document_round_trips(
    doc: EditorDocument, node_types: list[NodeTypeInfo]
) -> None:
    text = doc.copy(doc.model.node_ids())
    assert json.loads(text)["nodes"][0]["id"] == "fetch"
    other = EditorDocument(node_types)
    other.new("copy")
    assert other.paste(text, at=(0.0, -60.0)) == doc.model.node_ids()
    mine, theirs = doc.to_blueprint(), other.to_blueprint()
    assert theirs.nodes == mine.nodes
    assert theirs.edges == mine.edges
    assert theirs.ui.positions == mine.ui.positions


def test_paste_accepts_yaml_and_bare_nodes(doc: EditorDocument) -> None:
    assert doc.paste("nodes:\n  - {id: extra, type: delay}\n") == ["extra"]
    assert doc.paste('{"id": "extra", "type": "delay"}') == ["extra_1"]
    with pytest.raises(EditError):
        doc.paste("just words")


def test_save_and_reopen(doc: EditorDocument, tmp_path: Path, qtbot: QtBot) -> None:
    doc.set_node_field("fetch", ("retry", "max_attempts"), 3)
    for name in ("bp.json", "bp.yaml"):
        path = tmp_path / name
        with qtbot.waitSignal(doc.dirty_changed) as dirty:
            doc.save(path)
        assert dirty.args == [False]
        assert doc.path == path
        assert doc.title() == name
        assert load_blueprint_file(path) == doc.to_blueprint()
        reopened = EditorDocument(doc.catalog.infos())
        reopened.open(path)
        assert _dump(reopened) == _dump(doc)
        doc.set_node_field("fetch", ("timeout",), 1.0)  # dirty again for the next round
    assert (tmp_path / "bp.yaml").read_text().startswith("id: demo")
    assert doc.title() == "bp.yaml *"


def test_opening_a_blueprint_without_positions_lays_it_out(
    qapp: object, node_types: list[NodeTypeInfo], tmp_path: Path
) -> None:
    raw = {k: v for k, v in DEMO.items() if k != "ui"}
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(raw))
    d = EditorDocument(node_types)
    d.open(path)
    xs = {n: d.model.position(n)[0] for n in d.model.node_ids()}  # type: ignore[index]
    assert xs["fetch"] < xs["check"] < xs["save"] == xs["report"]
    assert not d.is_dirty


def test_problems_are_matched_to_their_node(doc: EditorDocument, qtbot: QtBot) -> None:
    problems = [
        Problem(where="nodes[1].params.condition", message="bad"),
        Problem(where="nodes[1]", message="whole node"),
        Problem(where="nodes[12].params", message="another node"),
        Problem(where="edges[0].source", message="an edge"),
    ]
    with qtbot.waitSignal(doc.problems_changed):
        doc.set_problems(problems)
    assert [p.message for p in doc.node_problems("check")] == ["bad", "whole node"]
    assert doc.node_problems("fetch") == []


def test_signals_relay_model_facts(doc: EditorDocument, qtbot: QtBot) -> None:
    with qtbot.waitSignal(doc.node_inserted) as inserted:
        doc.add_node("delay")
    assert inserted.args == [4, "delay_1"]
    with qtbot.waitSignals([doc.edge_removed, doc.node_removed, doc.edited]):
        doc.remove_selection(["report"])
    with qtbot.waitSignal(doc.node_renamed) as renamed:
        doc.rename_node("fetch", "download")
    assert renamed.args == [0, "fetch", "download"]
    with qtbot.waitSignal(doc.reset):
        doc.new()
