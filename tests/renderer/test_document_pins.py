"""Pins and disabled nodes in the document: undoable, saved in the file, following
renames, outside the content hash (pins) or inside it (disabled)."""

from __future__ import annotations

import json
from pathlib import Path

from app.blueprint_files import load_blueprint_file
from renderer.editor.document import EditorDocument
from renderer.editor.model import UNSET
from tests.renderer.test_document import _dump


def test_pin_and_unpin_undo_exactly_and_follow_a_rename(doc: EditorDocument) -> None:
    before = _dump(doc)
    doc.set_pin("fetch", {"items": [1, 2]})
    doc.set_pin("check", True)
    assert doc.model.pins() == {"fetch": {"items": [1, 2]}, "check": True}
    doc.set_pin("fetch", UNSET)
    assert doc.model.pins() == {"check": True}
    doc.rename_node("check", "gate")
    assert doc.model.pins() == {"gate": True}
    pinned = doc.to_blueprint()
    assert pinned.ui.pins == {"gate": True}
    for _ in range(4):
        doc.undo_stack.undo()
    assert _dump(doc) == before
    for _ in range(4):
        doc.undo_stack.redo()
    assert doc.to_blueprint() == pinned


def test_pins_are_saved_but_stay_outside_the_hash(
    doc: EditorDocument,
    tmp_path: Path,
) -> None:
    plain = doc.to_blueprint().content_hash()
    doc.set_pin("save", {"written": 3})
    assert doc.to_blueprint().content_hash() == plain
    path = doc.save(tmp_path / "pinned.json")
    assert json.loads(path.read_text())["ui"]["pins"] == {"save": {"written": 3}}
    assert load_blueprint_file(path).ui.pins == {"save": {"written": 3}}


def test_disable_is_a_node_field_in_the_hash(doc: EditorDocument, tmp_path: Path) -> None:
    plain = doc.to_blueprint().content_hash()
    doc.set_disabled("report", True)
    assert doc.model.node("report").disabled
    assert doc.to_blueprint().content_hash() != plain
    path = doc.save(tmp_path / "disabled.json")
    saved = json.loads(path.read_text())
    assert [n.get("disabled") for n in saved["nodes"]] == [None, None, None, True]
    doc.set_disabled("report", False)
    assert doc.to_blueprint().content_hash() == plain
    doc.undo_stack.undo()
    assert doc.model.node("report").disabled


def test_deleting_a_pinned_node_removes_its_pin_in_the_same_undo_step(
    doc: EditorDocument,
) -> None:
    """Issue 12 leftover: the pin of a deleted node stayed in ``ui.pins``."""
    doc.set_pin("check", True)
    doc.set_pin("fetch", {"items": [1]})
    pinned = _dump(doc)
    doc.remove_selection(["check"])
    assert doc.model.pins() == {"fetch": {"items": [1]}}
    assert doc.to_blueprint().ui.pins == {"fetch": {"items": [1]}}
    doc.undo_stack.undo()  # one step brings back the node and its pin
    assert json.loads(_dump(doc)) == json.loads(pinned)  # pins' order may differ
    assert doc.model.pins() == {"check": True, "fetch": {"items": [1]}}
    doc.undo_stack.redo()
    assert doc.model.pins() == {"fetch": {"items": [1]}}


def test_copy_paste_carries_the_copied_nodes_pins_under_their_new_ids(
    doc: EditorDocument,
) -> None:
    doc.set_pin("fetch", {"items": [1, 2]})
    doc.set_pin("save", {"written": 3})
    text = doc.copy(["fetch", "check"])
    assert json.loads(text)["ui"]["pins"] == {"fetch": {"items": [1, 2]}}
    before = _dump(doc)
    pasted = doc.paste(text)
    assert pasted == ["fetch_1", "check_1"]
    assert doc.model.pins() == {
        "fetch": {"items": [1, 2]},
        "save": {"written": 3},
        "fetch_1": {"items": [1, 2]},
    }
    doc.undo_stack.undo()  # the paste, pins included, is one step
    assert _dump(doc) == before
