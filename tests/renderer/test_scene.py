"""The canvas mirrors the document, and mouse gestures become commands."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.results import NodeTypeInfo
from renderer.canvas.edge_item import EdgeItem
from renderer.canvas.scene import NODE_TYPE_MIME, BlueprintScene
from renderer.canvas.state_badge import BadgeState
from renderer.canvas.theme import DARK, LIGHT
from renderer.canvas.view import CanvasView
from renderer.editor.document import EditorDocument


def _scene(view: CanvasView) -> BlueprintScene:
    scene = view.scene()
    assert isinstance(scene, BlueprintScene)
    return scene


def _mirrors(scene: BlueprintScene, doc: EditorDocument) -> None:
    """Items match the model: same nodes in order, same edges in order, same positions."""
    model = doc.model
    assert [i.node_id for i in scene.node_items()] == model.node_ids()
    assert len(scene.node_items()) == len(model.nodes)
    assert [i.edge for i in scene.edge_items()] == list(model.edges)
    for item in scene.node_items():
        assert (item.x(), item.y()) == model.position(item.node_id)
        assert item.spec == model.node(item.node_id)
    for edge in scene.edge_items():
        assert edge.source.node_id == edge.edge.source
        assert edge.target.node_id == edge.edge.target


def test_scene_mirrors_the_model_through_undo_and_redo(
    view: CanvasView, doc: EditorDocument
) -> None:
    scene = _scene(view)
    _mirrors(scene, doc)
    doc.add_node("delay", (800.0, 0.0))
    doc.connect_nodes("save", "delay_1")
    doc.rename_node("check", "gate")
    doc.set_node_field("gate", ("params", "condition"), "{{ input.go }}")
    doc.move_nodes({"fetch": (-100.0, 40.0)})
    doc.remove_selection(["gate"], [])
    doc.paste(doc.copy(["fetch", "save"]))
    doc.auto_layout()
    _mirrors(scene, doc)
    steps = doc.undo_stack.count()
    for _ in range(steps):
        doc.undo_stack.undo()
        _mirrors(scene, doc)
    for _ in range(steps):
        doc.undo_stack.redo()
        _mirrors(scene, doc)
    doc.new("empty")
    assert scene.node_items() == []
    assert scene.edge_items() == []


def test_branch_nodes_show_named_ports_and_switch_follows_its_cases(
    view: CanvasView, doc: EditorDocument
) -> None:
    scene = _scene(view)
    check = scene.node_item("check")
    assert check is not None
    assert check.ports == ["true", "false"]
    doc.add_node("switch", params={"cases": ["a"]})
    switch = scene.node_item("switch_1")
    assert switch is not None
    assert switch.ports == ["a", "default"]
    doc.connect_nodes("switch_1", "save", "a")
    doc.set_node_field("switch_1", ("params", "cases"), ["b"])
    assert switch.ports == ["b", "default"]
    edge = scene.edge_items()[-1]
    assert not edge.valid  # port "a" is gone: drawn as invalid until fixed
    doc.undo_stack.undo()
    assert edge.valid


def _press_drag_release(view: CanvasView, start: QPointF, end: QPointF) -> None:
    viewport = view.viewport()
    a, b = view.mapFromScene(start), view.mapFromScene(end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for k in range(1, 6):
        point = a + (b - a) * (k / 5)
        QTest.mouseMove(viewport, QPoint(point.x(), point.y()))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_dragging_from_a_port_to_a_node_connects(view: CanvasView, doc: EditorDocument) -> None:
    scene = _scene(view)
    check, save = scene.node_item("check"), scene.node_item("save")
    assert check is not None
    assert save is not None
    port = check.output_port("false")
    assert port is not None
    _press_drag_release(view, port.scenePos(), save.sceneBoundingRect().center())
    last = doc.model.edges[-1]
    assert (last.source, last.target, last.source_port) == ("check", "save", "false")
    assert doc.undo_stack.count() == 1
    assert isinstance(scene.edge_items()[-1], EdgeItem)


def test_a_refused_drag_says_why(view: CanvasView, doc: EditorDocument, qtbot: QtBot) -> None:
    scene = _scene(view)
    save, fetch = scene.node_item("save"), scene.node_item("fetch")
    assert save is not None
    assert fetch is not None
    port = save.output_port(None)
    assert port is not None
    with qtbot.waitSignal(scene.connection_refused) as refused:
        _press_drag_release(view, port.scenePos(), fetch.sceneBoundingRect().center())
    assert "loop" in refused.args[0]
    assert doc.undo_stack.count() == 0


def test_a_refused_wire_says_why_while_it_is_drawn(view: CanvasView, doc: EditorDocument) -> None:
    """The preview once looked valid over a cycle, then nothing happened on release."""
    scene = _scene(view)
    save, fetch = scene.node_item("save"), scene.node_item("fetch")
    assert save is not None
    assert fetch is not None
    port = save.output_port(None)
    assert port is not None
    viewport = view.viewport()
    a = view.mapFromScene(port.scenePos())
    b = view.mapFromScene(fetch.sceneBoundingRect().center())
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(viewport, b)
    assert scene.wire_refusal is not None and "loop" in scene.wire_refusal
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    assert scene.wire_refusal is None


def test_dragging_a_node_is_one_undo_step(view: CanvasView, doc: EditorDocument) -> None:
    scene = _scene(view)
    item = scene.node_item("report")
    assert item is not None
    start = (item.x(), item.y())
    grab = item.mapToScene(QPointF(100, 20))
    _press_drag_release(view, grab, grab + QPointF(60, 40))
    moved = doc.model.position("report")
    assert moved is not None
    assert moved != start
    assert (item.x(), item.y()) == moved
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.model.position("report") == start
    assert (item.x(), item.y()) == start


def test_delete_key_removes_the_selection_as_one_step(
    view: CanvasView, doc: EditorDocument
) -> None:
    scene = _scene(view)
    before = doc.to_blueprint()
    scene.select_nodes(["check", "report"])
    scene.edge_items()[0].setSelected(False)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert doc.model.node_ids() == ["fetch", "save"]
    assert doc.model.edges == ()
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.to_blueprint() == before
    _mirrors(scene, doc)


def test_rubber_band_selects_nodes(view: CanvasView, doc: EditorDocument, qtbot: QtBot) -> None:
    scene = _scene(view)
    fetch, check = scene.node_item("fetch"), scene.node_item("check")
    assert fetch is not None
    assert check is not None
    corner = fetch.sceneBoundingRect().topLeft() - QPointF(30, 30)
    far = check.sceneBoundingRect().bottomRight() + QPointF(5, 5)
    with qtbot.waitSignal(scene.node_selection_changed):
        _press_drag_release(view, corner, far)
    assert scene.selected_node_ids() == ["fetch", "check"]


def test_dropping_a_palette_entry_adds_a_node_there(view: CanvasView, doc: EditorDocument) -> None:
    data = QMimeData()
    data.setData(NODE_TYPE_MIME, b"delay")
    target = view.mapFromScene(QPointF(300, 400))
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        target, actions, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QTest.qWait(0)
    view.dragEnterEvent(enter)
    drop = QDropEvent(
        QPointF(target), actions, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    view.dropEvent(drop)
    assert doc.model.node_ids()[-1] == "delay_1"
    pos = doc.model.position("delay_1")
    assert pos is not None
    assert abs(pos[0] + 100 - 300) <= 20
    assert abs(pos[1] + 20 - 400) <= 20
    assert _scene(view).selected_node_ids() == ["delay_1"]


def test_zoom_pan_and_fit(view: CanvasView) -> None:
    view.set_zoom(1.0)
    view.zoom_in()
    assert view.zoom > 1.0
    view.set_zoom(100)
    assert view.zoom == pytest.approx(3.0)
    view.fit_to_view()
    area = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in _scene(view).node_items():
        assert area.contains(item.sceneBoundingRect())
    before = view.mapToScene(QPoint(0, 0))
    viewport = view.viewport()
    QTest.mousePress(
        viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300)
    )
    QTest.mouseMove(viewport, QPoint(200, 250))
    QTest.mouseRelease(
        viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 250)
    )
    assert view.mapToScene(QPoint(0, 0)) != before


def test_run_state_badges_for_the_monitor(view: CanvasView) -> None:
    scene = _scene(view)
    item = scene.node_item("fetch")
    assert item is not None
    scene.set_node_state("fetch", "running")
    assert item.state is BadgeState.RUNNING
    assert item.is_animating
    scene.set_node_state("fetch", "retrying", 1, "ConnectError")
    assert item.state_text == "retrying · attempt 2 · ConnectError"
    scene.set_node_state("fetch", "completed", 2, "112 ms")
    assert not item.is_animating
    assert item.state_text == "completed · 2 attempts · 112 ms"
    for state in BadgeState:
        scene.set_node_state("fetch", state.value)
        assert item.state is state
    scene.set_node_state("ghost", "failed")  # unknown ids are ignored
    scene.set_dirty_nodes(["fetch"])
    scene.set_will_run(["fetch", "check"])
    scene.clear_states()
    assert item.state is None
    scene.set_theme(DARK)
    scene.set_theme(LIGHT)
    view.viewport().repaint()


def test_sequential_blueprints_show_their_implicit_order(
    qtbot: QtBot, node_types: list[NodeTypeInfo]
) -> None:
    d = EditorDocument(node_types)
    d.new("seq")
    scene = BlueprintScene(d)
    for _ in range(3):
        d.add_node("set")
    assert len(scene.implicit_edge_items()) == 2
    d.connect_nodes("set_1", "set_3")
    assert scene.implicit_edge_items() == []
    assert len(scene.edge_items()) == 3
    d.undo_stack.undo()
    assert len(scene.implicit_edge_items()) == 2
    assert scene.edge_items() == []


def test_selected_edges_are_deleted_too(view: CanvasView, doc: EditorDocument) -> None:
    scene = _scene(view)
    scene.edge_items()[2].setSelected(True)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Backspace)
    assert len(doc.model.edges) == 3
    assert ("check", "report") not in [(e.source, e.target) for e in doc.model.edges]
    assert len(scene.edge_items()) == 3


def test_copy_cut_and_paste_keys(view: CanvasView, doc: EditorDocument, qtbot: QtBot) -> None:
    scene = _scene(view)
    scene.select_nodes(["fetch", "check"])
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert doc.model.node_ids()[-2:] == ["fetch_1", "check_1"]
    assert scene.selected_node_ids() == ["fetch_1", "check_1"]
    QTest.keyClick(view, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert doc.model.node_ids() == ["fetch", "check", "save", "report"]
    QTest.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(scene.selected_node_ids()) == 4
    with qtbot.waitSignal(scene.edit_refused):
        assert view.paste("not a blueprint") == []


def _badge_colours(item: object) -> set[int]:
    """The distinct colours painted inside the node's badge strip."""
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    from renderer.canvas.geometry import BADGE_HEIGHT
    from renderer.canvas.node_item import NodeItem

    assert isinstance(item, NodeItem)
    width, height = int(item.boundingRect().right()) + 2, int(item.height) + 2
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    item.paint(painter, QStyleOptionGraphicsItem())
    painter.end()
    badge_top = int(item.height - BADGE_HEIGHT)
    return {
        image.pixel(x, y) for x in range(12, width - 14) for y in range(badge_top + 3, height - 6)
    }


def test_a_node_with_no_run_shown_draws_no_badge(view: CanvasView) -> None:
    """Issue 12 leftover: with no run shown every node read "not run"."""
    item = _scene(view).node_item("fetch")
    assert item is not None and item.state is None
    assert len(_badge_colours(item)) == 1  # the card's fill only
    _scene(view).set_node_state("fetch", "completed", 0, "12 ms")
    assert len(_badge_colours(item)) > 1
