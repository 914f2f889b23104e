"""Building a blueprint the way a user does: palette, drag to connect, inspector, save."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QSplitter
from pytestqt.qtbot import QtBot

from app.blueprint_files import load_blueprint_file
from app.results import NodeTypeInfo
from renderer.canvas.node_item import NodeItem
from renderer.canvas.scene import BlueprintScene
from renderer.canvas.view import CanvasView
from renderer.editor.document import EditorDocument
from renderer.inspector.field_editors import LineEditor
from renderer.inspector.inspector_panel import InspectorPanel
from renderer.palette import NodePalette
from tests.renderer.screenshot import render


def _drag(view: CanvasView, start: QPointF, end: QPointF) -> None:
    viewport = view.viewport()
    a, b = view.mapFromScene(start), view.mapFromScene(end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for k in range(1, 5):
        point = a + (b - a) * (k / 4)
        QTest.mouseMove(viewport, QPoint(point.x(), point.y()))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def _click(view: CanvasView, item: NodeItem) -> None:
    point = view.mapFromScene(item.mapToScene(QPointF(100, 20)))
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point
    )


def _type_into(line: QLineEdit, text: str) -> None:
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key.Key_Return)


def test_build_a_blueprint_like_a_user(
    qtbot: QtBot, node_types: list[NodeTypeInfo], tmp_path: Path
) -> None:
    document = EditorDocument(node_types)
    document.new("built")
    scene = BlueprintScene(document)
    view = CanvasView(scene)
    palette = NodePalette(node_types)
    inspector = InspectorPanel(document)
    palette.node_type_requested.connect(document.add_node)
    scene.node_selection_changed.connect(inspector.show_selection)
    window = QSplitter()
    for widget in (palette, view, inspector):
        window.addWidget(widget)
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    qtbot.waitExposed(window)

    # Add three nodes from the palette (search, Enter; then double-clicks).
    _type_into(palette.filter_edit, "http")
    palette.filter_edit.clear()
    for type_name in ("json.transform", "sqlite.write"):
        item = palette.item_for(type_name)
        assert item is not None
        rect = palette.tree.visualItemRect(item)
        # A real double-click starts with a press: Qt's item views need it.
        QTest.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        QTest.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert document.model.node_ids() == ["request_1", "transform_1", "write_1"]
    view.fit_to_view()

    # Connect them by dragging from each output port onto the next node.
    def node(node_id: str) -> NodeItem:
        found = scene.node_item(node_id)
        assert found is not None
        return found

    for source, target in (("request_1", "transform_1"), ("transform_1", "write_1")):
        port = node(source).output_port(None)
        assert port is not None
        _drag(view, port.scenePos(), node(target).sceneBoundingRect().center())
    assert [(e.source, e.target) for e in document.model.edges] == [
        ("request_1", "transform_1"),
        ("transform_1", "write_1"),
    ]

    # Select the request on the canvas and fill its params in the inspector.
    _click(view, node("request_1"))
    assert inspector.node_id == "request_1"
    url = inspector.params_form.editor(("url",))
    assert isinstance(url, LineEditor)
    _type_into(url.line, "https://example.org/items")
    _type_into(inspector.id_edit, "fetch")
    _click(view, node("write_1"))
    for name, value in (("database", "out.db"), ("table", "rows")):
        editor = inspector.params_form.editor((name,))
        assert isinstance(editor, LineEditor)
        _type_into(editor.line, value)

    bp = document.to_blueprint()
    assert [(n.id, n.type) for n in bp.nodes] == [
        ("fetch", "http.request"),
        ("transform_1", "json.transform"),
        ("write_1", "sqlite.write"),
    ]
    assert bp.nodes[0].params == {"url": "https://example.org/items"}
    assert bp.nodes[2].params == {"database": "out.db", "table": "rows"}
    assert [(e.source, e.target) for e in bp.edges or []] == [
        ("fetch", "transform_1"),
        ("transform_1", "write_1"),
    ]
    assert set(bp.ui.positions) == {"fetch", "transform_1", "write_1"}

    path = document.save(tmp_path / "built.yaml")
    assert load_blueprint_file(path) == bp
    assert not document.is_dirty
    window.close()


def test_screenshot_renders(qapp: object, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    for dark in (False, True):
        path = render(tmp_path / f"editor-{dark}.png", dark=dark)
        image = QImage(str(path))
        assert image.width() >= 1400
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), 37)
            for y in range(0, image.height(), 29)
        }
        assert len(colours) > 20  # not a blank grab
