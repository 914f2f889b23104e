"""Renderer tests run offscreen; node types come from schemas written here."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from app.results import NodeTypeInfo  # noqa: E402

from tests.renderer.node_types import sample_node_types  # noqa: E402


@pytest.fixture
def node_types() -> list[NodeTypeInfo]:
    return sample_node_types()
