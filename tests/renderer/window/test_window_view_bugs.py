"""Regressions found by trying the window as a new user (issue 12's bug list)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QAction, QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from app.blueprint import Blueprint
from renderer.file_dialogs import blueprint_path, fitting_size
from renderer.main_window import MainWindow


def three_nodes(window: MainWindow) -> None:
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "three",
                "nodes": [
                    {"id": "a", "type": "set", "params": {"value": 1}},
                    {"id": "b", "type": "set", "params": {"value": 2}},
                    {"id": "c", "type": "set", "params": {"value": 3}},
                ],
                "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
                "ui": {"positions": {"a": [0, 0], "b": [0, 0], "c": [0, 0]}},
            }
        )
    )


def wheel(window: MainWindow, steps: int) -> None:
    view = window.view
    at = QPointF(view.viewport().rect().center())
    for _ in range(abs(steps)):
        event = QWheelEvent(
            at,
            QPointF(view.viewport().mapToGlobal(at.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120 if steps > 0 else -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(view.viewport(), event)


async def test_auto_layout_from_the_menu_spreads_the_nodes(window: MainWindow) -> None:
    three_nodes(window)
    action = next(a for a in window.findChildren(QAction) if "layout" in a.text().lower())
    action.trigger()  # as Ctrl+L does: triggered(checked) used to reach auto_layout(False)
    xs = sorted(pos[0] for n in ("a", "b", "c") if (pos := window.document.model.position(n)))
    assert xs[0] < xs[1] < xs[2]
    window.document.undo_stack.undo()
    assert {window.document.model.position(n) for n in ("a", "b", "c")} == {(0.0, 0.0)}


async def test_fit_after_wheel_zooming_matches_a_fresh_fit(window: MainWindow) -> None:
    three_nodes(window)
    window.document.auto_layout()
    window.view.fit_to_view()
    fresh = window.view.zoom
    wheel(window, 6)
    wheel(window, -14)
    window.view.fit_to_view()
    assert abs(window.view.zoom - fresh) < 0.01 * fresh, (window.view.zoom, fresh)


async def test_a_refused_edit_is_shown_in_the_status_bar(window: MainWindow) -> None:
    three_nodes(window)
    window.scene.connect_ports("c", "a")  # c → a would close a loop
    assert "loop" in window.statusBar().currentMessage()


async def test_save_as_adds_the_json_suffix(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_nodes(window)
    typed = str(tmp_path / "my-first")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (typed, ""))
    assert window.save_as()
    assert (tmp_path / "my-first.json").is_file()
    assert not (tmp_path / "my-first").exists()
    assert window.document.path == tmp_path / "my-first.json"
    assert blueprint_path(str(tmp_path / "b.YAML")) == tmp_path / "b.YAML"


def test_the_first_window_fits_a_small_screen() -> None:
    assert fitting_size(QSize(1400, 870)).width() <= 1400 * 0.92
    assert fitting_size(QSize(1400, 870)).height() <= 870 * 0.92
    assert fitting_size(QSize(2560, 1400)) == QSize(1500, 950)


async def test_the_window_opens_within_its_screen(window: MainWindow) -> None:
    free = window.screen().availableGeometry()
    assert window.width() <= free.width() and window.height() <= free.height()
