"""Render the editor (palette, canvas, inspector) with a small blueprint to a PNG.

Run ``python -m tests.renderer.screenshot`` to refresh ``docs/screenshots/``;
``test_screenshot.py`` renders the same scene into a temporary folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QSplitter, QWidget

from app.blueprint import Blueprint
from app.errors import Problem
from renderer.canvas.scene import BlueprintScene
from renderer.canvas.theme import DARK, LIGHT
from renderer.canvas.view import CanvasView
from renderer.editor.document import EditorDocument
from renderer.inspector.inspector_panel import InspectorPanel
from renderer.palette import NodePalette
from tests.renderer.node_types import sample_node_types

ROOT = Path(__file__).resolve().parents[2]

DEMO = {
    "id": "api-processing",
    "name": "API processing",
    "inputs": {"url": {"type": "string"}},
    "nodes": [
        {
            "id": "fetch",
            "type": "http.request",
            "params": {"url": "{{ inputs.url }}"},
            "retry": {"max_attempts": 3, "delay": 0.2, "backoff": 2.0},
            "timeout": 10,
        },
        {
            "id": "validate",
            "type": "json.transform",
            "params": {"expression": "items[?price > `0`]"},
        },
        {"id": "has_rows", "type": "if", "params": {"condition": "{{ input | length > 0 }}"}},
        {"id": "save", "type": "sqlite.write", "params": {"database": "out.db", "table": "rows"}},
        {"id": "report", "type": "log", "params": {"message": "nothing to save"}},
    ],
    "edges": [
        {"source": "fetch", "target": "validate"},
        {"source": "validate", "target": "has_rows"},
        {"source": "has_rows", "target": "save", "source_port": "true"},
        {"source": "has_rows", "target": "report", "source_port": "false"},
    ],
}


def dark_palette() -> QPalette:
    """A dark application palette matching the canvas's DARK theme."""
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1f2229",
        QPalette.ColorRole.WindowText: "#e8eaee",
        QPalette.ColorRole.Base: "#272b33",
        QPalette.ColorRole.AlternateBase: "#2c313a",
        QPalette.ColorRole.Text: "#e8eaee",
        QPalette.ColorRole.Button: "#2c313a",
        QPalette.ColorRole.ButtonText: "#e8eaee",
        QPalette.ColorRole.Highlight: "#3b82f6",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8b93a3",
        QPalette.ColorRole.ToolTipBase: "#272b33",
        QPalette.ColorRole.ToolTipText: "#e8eaee",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    return palette


def build_editor(dark: bool = False) -> tuple[QWidget, BlueprintScene, CanvasView]:
    """Palette | canvas | inspector, wired as the window will wire them."""
    types = sample_node_types()
    document = EditorDocument(types)
    document.load(Blueprint.model_validate(DEMO))
    theme = DARK if dark else LIGHT
    scene = BlueprintScene(document, theme)
    view = CanvasView(scene)
    palette = NodePalette(types, theme)
    inspector = InspectorPanel(document)
    scene.node_selection_changed.connect(inspector.show_selection)
    splitter = QSplitter()
    splitter.addWidget(palette)
    splitter.addWidget(view)
    splitter.addWidget(inspector)
    splitter.setSizes([200, 1060, 340])
    splitter.resize(1600, 760)
    document.set_problems(
        [Problem(where="nodes[4].params.message", message="expected a template", code="demo")]
    )
    scene.set_node_state("fetch", "completed", 1, "112 ms")
    scene.set_node_state("validate", "completed", 1, "3 ms")
    scene.set_node_state("has_rows", "running")
    scene.set_node_state("save", "pending")
    scene.set_will_run(["save", "report"])
    scene.select_nodes(["fetch"])
    return splitter, scene, view


def render(path: Path, dark: bool = False) -> Path:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    style, palette = app.style().name(), app.palette()
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    try:
        widget, _scene, view = build_editor(dark)
        widget.show()
        app.processEvents()
        view.fit_to_view()
        app.processEvents()
        path.parent.mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(path))
        widget.close()
        widget.deleteLater()
        app.processEvents()
    finally:
        app.setStyle(style)
        app.setPalette(palette)
    return path


if __name__ == "__main__":
    out = ROOT / "docs" / "screenshots"
    render(out / "editor-canvas.png")
    render(out / "editor-canvas-dark.png", dark=True)
