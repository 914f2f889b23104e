"""Renderer tests run offscreen; node types come from schemas written here."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.blueprint import Blueprint
from app.results import NodeTypeInfo
from renderer.canvas.scene import BlueprintScene
from renderer.canvas.view import CanvasView
from renderer.editor.document import EditorDocument
from tests.renderer.node_types import sample_node_types


@pytest.fixture
def node_types() -> list[NodeTypeInfo]:
    return sample_node_types()


@pytest.fixture
def doc(qapp: object, node_types: list[NodeTypeInfo]) -> EditorDocument:
    """The demo blueprint (tests.renderer.test_document.DEMO) in an editor document."""
    from tests.renderer.test_document import DEMO

    d = EditorDocument(node_types)
    d.load(Blueprint.model_validate(DEMO))
    return d


@pytest.fixture
def view(qtbot: QtBot, doc: EditorDocument) -> Iterator[CanvasView]:
    """A shown 1200x700 canvas view on ``doc``, centred on its nodes."""
    v = CanvasView(BlueprintScene(doc))
    qtbot.addWidget(v)
    v.resize(1200, 700)
    v.show()
    qtbot.waitExposed(v)
    v.centerOn(400, 50)
    yield v
    v.close()
