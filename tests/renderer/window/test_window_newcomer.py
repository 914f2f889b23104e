"""Issue 12's scripted newcomer: from an empty canvas to a finished run, only through
what a user does (drops from the palette, port-to-port wires, clicks, typing into the
inspector, the Save dialog, the Run button) — against the real window and worker.

It builds ``set → if → (true: big, false: small)``. A wire from the ``if``'s ``true``
port was once saved without ``source_port``, and the downstream ran on ``false``
with nothing on screen telling; here the saved file and the run both say which way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QToolButton,
)

from app.states import ExecutionStatus, NodeStatus
from renderer.canvas.node_item import NodeItem
from renderer.canvas.state_badge import BadgeState
from renderer.inspector.field_editors import JsonEditor, LineEditor
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import activate, until
from tests.renderer.window.dialog_driver import fill_name_dialog
from tests.renderer.window.test_window_run import badge

_LEFT = Qt.MouseButton.LeftButton
_NONE = Qt.KeyboardModifier.NoModifier


def drop_from_palette(window: MainWindow, type_name: str, at: QPoint) -> str:
    """Drag a palette entry onto the canvas at ``at`` (viewport pixels): the events a
    drag delivers, carrying what the palette's tree puts in the drag."""
    palette = window.palette_panel
    item = palette.item_for(type_name)
    assert item is not None, type_name
    mime = palette.tree.mimeData([item])
    viewport = window.view.viewport()
    action = Qt.DropAction.CopyAction
    before = set(window.document.model.node_ids())
    for event in (
        QDragEnterEvent(at, action, mime, _LEFT, _NONE),
        QDragMoveEvent(at, action, mime, _LEFT, _NONE),
        QDropEvent(QPointF(at), action, mime, _LEFT, _NONE),
    ):
        QApplication.sendEvent(viewport, event)
    (added,) = set(window.document.model.node_ids()) - before
    return added


def node(window: MainWindow, node_id: str) -> NodeItem:
    found = window.scene.node_item(node_id)
    assert found is not None, node_id
    return found


def click_node(window: MainWindow, node_id: str) -> None:
    point = window.view.mapFromScene(node(window, node_id).mapToScene(QPointF(60, 14)))
    QTest.mouseClick(window.view.viewport(), _LEFT, _NONE, point)
    assert window.inspector.node_id == node_id


def wire(window: MainWindow, source: str, port: str | None, target: str) -> None:
    """Press on ``source``'s output ``port``, move onto ``target``, release."""
    view = window.view
    handle = node(window, source).output_port(port)
    assert handle is not None, (source, port)
    start = view.mapFromScene(handle.scenePos())
    end = view.mapFromScene(node(window, target).sceneBoundingRect().center())
    QTest.mousePress(view.viewport(), _LEFT, _NONE, start)
    for k in range(1, 7):
        QTest.mouseMove(view.viewport(), start + (end - start) * (k / 6))
    QTest.mouseRelease(view.viewport(), _LEFT, _NONE, end)


def type_line(line: QLineEdit, text: str) -> None:
    QTest.mouseClick(line, _LEFT, _NONE, line.rect().center())
    QTest.keyClick(line, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key.Key_Return)


def type_param(window: MainWindow, name: str, text: str) -> None:
    editor = window.inspector.params_form.editor((name,))
    if isinstance(editor, LineEditor):
        type_line(editor.line, text)
    else:
        assert isinstance(editor, JsonEditor), editor
        box = editor.text
        QTest.mouseClick(box.viewport(), _LEFT, _NONE, box.viewport().rect().center())
        QTest.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(box, text)
        QTest.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


async def test_a_newcomer_builds_saves_and_runs_a_branch(
    window: MainWindow, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the newcomer's home folder
    window.activateWindow()
    window.resize(1400, 900)  # as a newcomer enlarges the window to work
    view = window.view.viewport()
    await until(lambda: view.width() > 700, what="the canvas widened")
    w, h = view.width(), view.height()
    make = drop_from_palette(window, "set", QPoint(int(w * 0.15), int(h * 0.45)))
    check = drop_from_palette(window, "if", QPoint(int(w * 0.4), int(h * 0.45)))
    big = drop_from_palette(window, "log", QPoint(int(w * 0.68), int(h * 0.2)))
    small = drop_from_palette(window, "log", QPoint(int(w * 0.68), int(h * 0.75)))

    click_node(window, make)
    type_param(window, "value", '{"n": 5}')
    click_node(window, check)
    type_param(window, "condition", "{{ input.n > 3 }}")
    for old, new, message in ((big, "big", "took true"), (small, "small", "took false")):
        click_node(window, old)
        type_line(window.inspector.id_edit, new)
        click_node(window, new)
        type_param(window, "message", message)

    wire(window, make, None, check)  # the chain's links turn into edges here
    wire(window, check, "true", "big")  # replaces the chain's port-less if → big
    wire(window, check, "false", "small")
    edges = window.document.model.edges
    link = [k for k, e in enumerate(edges) if (e.source, e.target) == ("big", "small")]
    assert len(link) == 1  # the chain's big → small link: the newcomer deletes it
    edge_item = window.scene.edge_items()[link[0]]
    middle = edge_item.mapToScene(edge_item.path.pointAtPercent(0.5))
    QTest.mouseClick(window.view.viewport(), _LEFT, _NONE, window.view.mapFromScene(middle))
    QTest.keyClick(window.view, Qt.Key.Key_Delete)

    seen: list[str] = []
    # Save names a new blueprint (id, name) and keeps it in the library.
    fill_name_dialog(seen, [], "first-branch", name="First branch")
    await activate(window)
    QTimer.singleShot(
        0, lambda: QTest.keyClick(window.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    )
    saved_path = home / "blueprints" / "first-branch.json"
    await until(saved_path.exists, what="the file saved through the dialog")
    assert seen[0].startswith("prefilled|"), seen
    assert seen[-1].startswith("first-branch|True|"), seen
    saved = json.loads(saved_path.read_text())
    assert saved["name"] == "First branch"
    wires = [(e["source"], e["target"], e.get("source_port")) for e in saved["edges"]]
    assert set(wires) == {(make, check, None), (check, "big", "true"), (check, "small", "false")}
    assert len(wires) == 3
    by_id = {n["id"]: n for n in saved["nodes"]}
    assert by_id[make]["params"] == {"value": {"n": 5}}
    assert by_id[check]["params"] == {"condition": "{{ input.n > 3 }}"}
    assert not window.document.is_dirty

    toolbar = [
        b for b in window.findChildren(QToolButton) if b.defaultAction() is window.commands.run
    ]
    assert toolbar, "the Run button"
    QTest.mouseClick(toolbar[0], _LEFT)
    await until(lambda: window.runs.current is not None, what="a run started")
    run = window.bridge.model.execution(window.runs.current or "")
    assert run is not None
    await until(lambda: run.status is ExecutionStatus.COMPLETED, what="the run completed")
    assert run.nodes["big"].status is NodeStatus.COMPLETED
    assert run.nodes["small"].status is NodeStatus.SKIPPED
    await until(lambda: badge(window, "big") == BadgeState.COMPLETED, what="big's badge")
    assert badge(window, "small") == BadgeState.SKIPPED
