"""Quick add, right-click menus and zoom buttons, driven as a user drives them.

Mouse and key events go to the view's viewport (QTest), so each test passes only if
the gesture itself works: Tab, a double-click on empty canvas, a wire dropped on
empty canvas, typing in the picker and Enter.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from app.results import NodeTypeInfo
from renderer.canvas.quick_add import describe
from renderer.canvas.scene import BlueprintScene
from renderer.canvas.view import CanvasView
from renderer.editor.document import EditorDocument

_NONE = Qt.KeyboardModifier.NoModifier
_LEFT = Qt.MouseButton.LeftButton


def _scene(view: CanvasView) -> BlueprintScene:
    scene = view.scene()
    assert isinstance(scene, BlueprintScene)
    return scene


def _choose(view: CanvasView, qtbot: QtBot, text: str) -> None:
    """Type in the open picker and press Enter."""
    picker = view.quick_add.picker
    qtbot.waitUntil(picker.isVisible)
    QTest.keyClicks(picker.filter, text)
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not picker.isVisible())


def _empty_point(view: CanvasView) -> QPoint:
    """A viewport point over empty canvas (below every node of DEMO)."""
    point = view.mapFromScene(QPointF(300, 400))
    assert _scene(view).items(view.mapToScene(point)) == []
    return point


def test_tab_opens_the_picker_and_enter_adds_the_node_under_the_mouse(
    view: CanvasView, doc: EditorDocument, qtbot: QtBot
) -> None:
    at = _empty_point(view)
    QCursor.setPos(view.viewport().mapToGlobal(at))
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Tab)
    picker = view.quick_add.picker
    qtbot.waitUntil(picker.isVisible)
    QTest.keyClicks(picker.filter, "dela")
    assert picker.current_entry() is not None
    assert picker.current_entry().title == "Delay"  # type: ignore[union-attr]
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(doc.model.nodes) == 5)
    added = doc.model.node_ids()[-1]
    assert doc.model.node(added).type == "delay"
    assert _scene(view).selected_node_ids() == [added]
    x, y = doc.model.position(added) or (0.0, 0.0)
    pointer = view.mapToScene(
        view.viewport().mapFromGlobal(QCursor.pos())
        if view.viewport().rect().contains(view.viewport().mapFromGlobal(QCursor.pos()))
        else view.viewport().rect().center()
    )
    assert abs(x + 100 - pointer.x()) <= 20 and abs(y + 20 - pointer.y()) <= 20
    doc.undo_stack.undo()
    assert len(doc.model.nodes) == 4


def test_double_click_on_empty_canvas_opens_the_picker_escape_adds_nothing(
    view: CanvasView, doc: EditorDocument, qtbot: QtBot
) -> None:
    QTest.mouseDClick(view.viewport(), _LEFT, _NONE, _empty_point(view))
    picker = view.quick_add.picker
    qtbot.waitUntil(picker.isVisible)
    assert [e.title for e in picker.visible_entries()][:1]  # every node type is offered
    assert len(picker.visible_entries()) == len(doc.catalog)
    QTest.keyClick(picker.filter, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not picker.isVisible())
    assert len(doc.model.nodes) == 4
    assert doc.undo_stack.count() == 0


def test_a_wire_dropped_on_empty_canvas_adds_a_connected_node_in_one_undo_step(
    view: CanvasView, doc: EditorDocument, qtbot: QtBot
) -> None:
    """From the if node's ``true`` port: the new node is wired from that port."""
    check = _scene(view).node_item("check")
    assert check is not None
    port = check.output_port("true")
    assert port is not None
    viewport = view.viewport()
    a, b = view.mapFromScene(port.scenePos()), _empty_point(view)
    QTest.mousePress(viewport, _LEFT, _NONE, a)
    for k in range(1, 6):
        step = a + (b - a) * (k / 5)
        QTest.mouseMove(viewport, QPoint(step.x(), step.y()))
    QTest.mouseRelease(viewport, _LEFT, _NONE, b)
    edges_before = len(doc.model.edges)
    _choose(view, qtbot, "log")
    added = doc.model.node_ids()[-1]
    assert doc.model.node(added).type == "log"
    last = doc.model.edges[-1]
    assert (last.source, last.target, last.source_port) == ("check", added, "true")
    assert len(doc.model.edges) == edges_before + 1
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert added not in doc.model.node_ids()
    assert len(doc.model.edges) == edges_before


def test_picker_entries_say_what_a_node_type_is(node_types: list[NodeTypeInfo]) -> None:
    delay = next(info for info in node_types if info.type == "delay")
    line = describe(delay)
    assert line.startswith("delay · ")
    assert "\n" not in line


def _menu_action(menu: QMenu, text: str) -> None:
    for action in menu.actions():
        if action.text() == text:
            assert action.isEnabled(), text
            action.trigger()
            return
    raise AssertionError(f"{text!r} not in {[a.text() for a in menu.actions()]}")


def _right_click(view: CanvasView, scene_point: QPointF) -> QMenu:
    """What a right-click at ``scene_point`` shows (the view builds and pops it up)."""
    local = view.mapFromScene(scene_point)
    return view.menus.menu_at(view.mapToScene(local), view.viewport().mapToGlobal(local))


def test_node_menu_duplicates_renames_and_deletes(
    view: CanvasView, doc: EditorDocument, qtbot: QtBot
) -> None:
    scene = _scene(view)
    save = scene.node_item("save")
    assert save is not None
    menu = _right_click(view, save.sceneBoundingRect().center())
    assert scene.selected_node_ids() == ["save"]  # right-click selects what it hits
    _menu_action(menu, "Duplicate")
    assert len(doc.model.nodes) == 5
    copy = scene.selected_node_ids()[0]
    assert copy != "save" and doc.model.node(copy).type == "sqlite.write"

    copy_item = scene.node_item(copy)
    assert copy_item is not None
    _menu_action(_right_click(view, copy_item.sceneBoundingRect().center()), "Rename…")
    dialog = view.menus.rename_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    dialog.setTextValue("archive")
    dialog.accept()
    assert "archive" in doc.model.node_ids()
    assert scene.selected_node_ids() == ["archive"]

    archive = scene.node_item("archive")
    assert archive is not None
    _menu_action(_right_click(view, archive.sceneBoundingRect().center()), "Delete")
    assert "archive" not in doc.model.node_ids()


def test_a_refused_rename_says_why(view: CanvasView, doc: EditorDocument, qtbot: QtBot) -> None:
    scene = _scene(view)
    with qtbot.waitSignal(scene.edit_refused) as refused:
        assert not view.menus.rename("save", "fetch")
    assert "fetch" in refused.args[0]
    assert "save" in doc.model.node_ids()


def test_edge_menu_deletes_the_connection(view: CanvasView, doc: EditorDocument) -> None:
    scene = _scene(view)
    edge = scene.edge_items()[1]  # check --true--> save
    middle = edge.path.pointAtPercent(0.5)
    _menu_action(_right_click(view, middle), "Delete connection")
    assert all(
        (e.source, e.target, e.source_port) != ("check", "save", "true") for e in doc.model.edges
    )


def test_canvas_menu_adds_a_node_where_it_was_opened(
    view: CanvasView, doc: EditorDocument, qtbot: QtBot
) -> None:
    at = view.mapToScene(_empty_point(view))
    menu = _right_click(view, at)
    _menu_action(menu, "Add node…")
    _choose(view, qtbot, "merge")
    added = doc.model.node_ids()[-1]
    assert doc.model.node(added).type == "merge"
    x, y = doc.model.position(added) or (0.0, 0.0)
    assert abs(x + 100 - at.x()) <= 20 and abs(y + 20 - at.y()) <= 20


def test_a_real_right_click_pops_the_menu_up(view: CanvasView, qtbot: QtBot) -> None:
    """The context-menu event a right-click makes (QTest's click does not make one)."""
    local = _empty_point(view)
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, local, view.viewport().mapToGlobal(local)
    )
    QApplication.sendEvent(view.viewport(), event)
    qtbot.waitUntil(lambda: view.menus.last is not None and view.menus.last.isVisible())
    assert view.menus.last is not None
    assert "Add node…" in [a.text() for a in view.menus.last.actions()]
    view.menus.last.close()


def test_zoom_buttons_zoom_and_show_the_level(view: CanvasView) -> None:
    controls = view.zoom_controls
    view.set_zoom(1.0)
    assert controls.level.text() == "100%"
    QTest.mouseClick(controls.in_button, _LEFT)
    assert view.zoom > 1.0
    assert controls.level.text() == f"{round(view.zoom * 100)}%"
    QTest.mouseClick(controls.out_button, _LEFT)
    QTest.mouseClick(controls.out_button, _LEFT)
    assert view.zoom < 1.0
    QTest.mouseClick(controls.level, _LEFT)
    assert view.zoom == pytest.approx(1.0)
    QTest.mouseClick(controls.fit_button, _LEFT)
    assert controls.level.text() == f"{round(view.zoom * 100)}%"
    corner = controls.geometry()
    assert view.rect().contains(corner)  # placed inside the view, in its corner


def test_minimap_frames_the_visible_part_and_moves_the_view(
    view: CanvasView, doc: EditorDocument, qtbot: QtBot
) -> None:
    minimap = view.minimap
    qtbot.waitUntil(lambda: minimap.renders >= 1)
    assert minimap.isVisible()
    assert minimap.geometry().bottom() < view.height()  # in the corner, inside the view
    drawn = minimap.renders
    view.set_zoom(2.0)
    view.centerOn(0, 0)
    frame = minimap.visible_rect()
    assert not frame.isEmpty()
    assert minimap.renders == drawn  # panning and zooming repaint a frame, not the graph
    # Click on the minimap's far right: the view moves right.
    before = view.mapToScene(view.viewport().rect().center())
    target = QPoint(minimap.width() - 5, minimap.height() // 2)
    QTest.mouseClick(minimap, _LEFT, _NONE, target)
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() > before.x() + 100
    assert abs(after.x() - minimap.to_scene(QPointF(target)).x()) < 5
    # An edit redraws the picture, once, a moment later.
    doc.add_node("delay", (1200.0, 300.0))
    qtbot.waitUntil(lambda: minimap.renders == drawn + 1)


def test_minimap_hides_where_it_would_cover_the_canvas(view: CanvasView, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: view.minimap.renders >= 1)
    view.resize(500, 300)
    assert not view.minimap.isVisible()
    view.resize(1200, 700)
    assert view.minimap.isVisible()
    view.minimap.set_wanted(False)
    assert not view.minimap.isVisible()


def test_an_empty_canvas_says_how_to_start(qtbot: QtBot, node_types: list[NodeTypeInfo]) -> None:
    doc = EditorDocument(node_types)
    doc.new("empty")
    view = CanvasView(BlueprintScene(doc))
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    picture = view.viewport().grab().toImage()
    centre = picture.rect().center()
    band = [
        picture.pixelColor(x, centre.y() - 6 + dy).lightness()
        for x in range(centre.x() - 200, centre.x() + 200)
        for dy in range(12)
    ]
    assert min(band) < 200  # text is drawn in the middle of the empty canvas
    qtbot.waitUntil(lambda: view.minimap.renders >= 1)
    assert not view.minimap.isVisible()  # nothing to map yet
    doc.add_node("delay", (0.0, 0.0))
    qtbot.waitUntil(view.minimap.isVisible)


def test_the_empty_canvas_hint_is_wiped_whole_when_the_first_node_arrives(
    qtbot: QtBot, node_types: list[NodeTypeInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under Xvfb, pieces of the hint stayed around the first node (partial repaint)."""
    doc = EditorDocument(node_types)
    view = CanvasView(BlueprintScene(doc))
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view._hint_shown)
    full_repaints: list[int] = []
    viewport = view.viewport()
    real_update = viewport.update

    def spy(*args: object) -> None:
        if not args:
            full_repaints.append(1)
        real_update(*args)

    monkeypatch.setattr(viewport, "update", spy)
    doc.add_node("delay")
    qtbot.waitUntil(lambda: not view._hint_shown)
    assert full_repaints, "the whole viewport must be repainted once the hint goes"
    view.close()


def test_the_picker_opened_near_the_screen_edge_stays_on_screen(
    view: CanvasView, qtbot: QtBot
) -> None:
    """A wire dropped near the right edge opened the picker half off-screen (Xvfb)."""
    area = view.screen().availableGeometry()
    corner = QPoint(area.right() - 20, area.bottom() - 20)
    view.quick_add.open_at(QPointF(0, 0), corner)
    picker = view.quick_add.picker
    qtbot.waitUntil(picker.isVisible)
    shown = picker.frameGeometry()
    assert area.contains(shown.topLeft()) and area.contains(shown.bottomRight()), (shown, area)
    QTest.keyClick(picker.filter, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not picker.isVisible())
