"""Renderer tests run offscreen; node types come from schemas written here."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from app.results import NodeTypeInfo
from tests.renderer.node_types import sample_node_types


@pytest.fixture
def node_types() -> list[NodeTypeInfo]:
    return sample_node_types()
