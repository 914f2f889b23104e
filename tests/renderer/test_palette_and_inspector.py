"""The palette (filter, requests, drag data) and the inspector (edits as commands)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.blueprint import Blueprint
from app.errors import Problem
from app.results import NodeTypeInfo
from renderer.canvas.scene import NODE_TYPE_MIME
from renderer.editor.document import EditorDocument
from renderer.inspector.field_editors import ChoiceEditor, LineEditor
from renderer.inspector.inspector_panel import InspectorPanel, split_where
from renderer.palette import NodePalette
from tests.renderer.test_document import DEMO


def test_palette_groups_by_category_and_filters(
    qtbot: QtBot, node_types: list[NodeTypeInfo]
) -> None:
    palette = NodePalette(node_types)
    qtbot.addWidget(palette)
    groups = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]  # type: ignore[union-attr]
    assert groups == ["HTTP", "Data", "Flow", "Files/SQL", "Code"]
    assert len(palette.visible_types()) == len(node_types)
    QTest.keyClicks(palette.filter_edit, "sql")
    assert palette.visible_types() == ["sqlite.write"]
    palette.set_filter("flow log")
    assert palette.visible_types() == ["log"]
    palette.set_filter("nothing like it")
    assert palette.visible_types() == []
    palette.set_filter("")
    assert len(palette.visible_types()) == len(node_types)


def test_palette_requests_and_drags_types(qtbot: QtBot, node_types: list[NodeTypeInfo]) -> None:
    palette = NodePalette(node_types)
    qtbot.addWidget(palette)
    palette.show()
    item = palette.item_for("json.transform")
    assert item is not None
    with qtbot.waitSignal(palette.node_type_requested) as requested:
        rect = palette.tree.visualItemRect(item)
        # A real double-click starts with a press: Qt's item views need it.
        QTest.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        QTest.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert requested.args == ["json.transform"]
    palette.filter_edit.setText("delay")
    with qtbot.waitSignal(palette.node_type_requested) as first:
        QTest.keyClick(palette.filter_edit, Qt.Key.Key_Return)
    assert first.args == ["delay"]
    palette.filter_edit.clear()
    palette.tree.setCurrentItem(item)
    with qtbot.waitSignal(palette.node_type_requested) as entered:
        QTest.keyClick(palette.tree, Qt.Key.Key_Return)
    assert entered.args == ["json.transform"]
    data = palette.tree.mimeData([item])
    assert bytes(data.data(NODE_TYPE_MIME).data()) == b"json.transform"


@pytest.fixture
def panel(qtbot: QtBot, node_types: list[NodeTypeInfo]) -> InspectorPanel:
    doc = EditorDocument(node_types)
    doc.load(Blueprint.model_validate(DEMO))
    p = InspectorPanel(doc)
    qtbot.addWidget(p)
    p.resize(360, 800)
    p.show()
    return p


def _type_into(line: QLineEdit, text: str) -> None:
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key.Key_Return)


def test_inspector_shows_the_selected_node(panel: InspectorPanel) -> None:
    assert panel.placeholder.isVisibleTo(panel)
    panel.show_selection(["fetch"])
    assert panel.node_id == "fetch"
    assert panel.id_edit.text() == "fetch"
    assert panel.title.text() == "fetch"
    url = panel.params_form.editor(("url",))
    assert isinstance(url, LineEditor)
    assert url.line.text() == "{{ inputs.url }}"
    assert "inputs (url)" in panel.params_form.hint.text()
    panel.show_selection(["fetch", "check"])
    assert panel.node_id is None
    assert panel.placeholder.text() == "2 nodes selected."


def test_inspector_edits_are_undoable_commands(panel: InspectorPanel) -> None:
    doc = panel.document
    panel.show_node("fetch")
    method = panel.params_form.editor(("method",))
    assert isinstance(method, ChoiceEditor)
    method.combo.activated.emit(method.combo.findData("PUT"))
    assert doc.model.node("fetch").params["method"] == "PUT"
    attempts = panel.settings_form.editor(("retry", "max_attempts"))
    assert isinstance(attempts, LineEditor)
    _type_into(attempts.line, "4")
    retry = doc.model.node("fetch").retry
    assert retry is not None
    assert retry.max_attempts == 4
    when = panel.settings_form.editor(("when",))
    assert isinstance(when, ChoiceEditor)
    when.combo.activated.emit(when.combo.findData("all_done"))
    assert doc.model.node("fetch").when == "all_done"
    assert doc.undo_stack.count() == 3
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert attempts.line.text() == ""  # the panel follows undo
    doc.undo_stack.undo()
    assert method.combo.currentData() == "GET"


def test_inspector_renames_and_refuses_taken_ids(panel: InspectorPanel, qtbot: QtBot) -> None:
    doc = panel.document
    panel.show_node("fetch")
    _type_into(panel.id_edit, "download")
    assert doc.model.node_ids()[0] == "download"
    assert panel.node_id == "download"
    with qtbot.waitSignal(panel.edit_refused):
        _type_into(panel.id_edit, "save")
    assert "already" in panel.id_message.text()
    assert doc.model.node_ids()[0] == "download"
    doc.undo_stack.undo()
    assert panel.node_id == "fetch"
    assert panel.id_edit.text() == "fetch"


def test_inspector_shows_the_nodes_problems(panel: InspectorPanel) -> None:
    doc = panel.document
    panel.show_node("check")
    doc.set_problems(
        [
            Problem(where="nodes[1].params.condition (line 9)", message="template syntax"),
            Problem(where="nodes[1].timeout", message="must be > 0"),
            Problem(where="nodes[0].params.url", message="not this node"),
        ]
    )
    texts = [panel.problem_list.item(i).text() for i in range(panel.problem_list.count())]
    assert texts == ["⚠ params.condition: template syntax", "⚠ timeout: must be > 0"]
    assert panel.params_form.messages() == {("condition",): "template syntax"}
    assert panel.settings_form.messages() == {("timeout",): "must be > 0"}
    assert panel.problems_section.text() == "PROBLEMS (2)"


def test_inspector_forgets_a_removed_node(panel: InspectorPanel) -> None:
    panel.show_node("save")
    panel.document.remove_selection(["save"])
    assert panel.node_id is None
    panel.document.undo_stack.undo()
    panel.show_node("save")
    panel.document.new()
    assert panel.node_id is None


def test_split_where() -> None:
    assert split_where(".params.url") == ("params", "url")
    assert split_where('.params["odd key"][2] (line 4)') == ("params", "odd key", 2)
    assert split_where("") == ()


def _wheel_down(widget: QWidget) -> None:
    at = QPointF(widget.rect().center())
    event = QWheelEvent(
        at,
        QPointF(widget.mapToGlobal(at.toPoint())),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_an_unfocused_choice_changes_nothing(panel: InspectorPanel) -> None:
    """Scrolling the inspector over ``on_error`` once turned fail into continue, unseen."""
    doc = panel.document
    panel.show_node("fetch")
    on_error = panel.settings_form.editor(("on_error",))
    assert isinstance(on_error, ChoiceEditor)
    before = (on_error.combo.currentIndex(), doc.model.node("fetch").on_error)
    _wheel_down(on_error.combo)
    assert (on_error.combo.currentIndex(), doc.model.node("fetch").on_error) == before
    assert doc.undo_stack.count() == 0
    on_error.combo.setFocus()  # a user who clicked the box may scroll through it
    QApplication.processEvents()
    if on_error.combo.hasFocus():  # offscreen platforms may refuse focus to a hidden window
        _wheel_down(on_error.combo)
        assert on_error.combo.currentIndex() != before[0]


def test_a_very_long_node_id_does_not_widen_the_inspector(panel: InspectorPanel) -> None:
    """A 155-character id made the inspector scroll sideways, its fields cut (Xvfb)."""
    long_id = "node_" + "x" * 150
    panel.document.rename_node("fetch", long_id)
    panel.show_selection([long_id])
    QApplication.processEvents()
    assert panel.node_id == long_id
    assert panel.details.minimumSizeHint().width() <= 400
    assert panel.title.toolTip() == long_id


def test_a_very_long_upstream_id_in_the_templates_hint_does_not_widen_it(
    panel: InspectorPanel,
) -> None:
    """The hint lists the nodes in scope: one unbreakable id widened the form too."""
    long_id = "node_" + "x" * 150
    panel.document.rename_node("fetch", long_id)
    panel.show_selection(["report"])
    QApplication.processEvents()
    assert long_id in panel.params_form.hint.text()
    assert panel.details.minimumSizeHint().width() <= 400
