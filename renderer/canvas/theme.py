"""Canvas colours: a light and a dark theme, chosen from the application palette.

Colours are kept as ``#rrggbb`` strings so a theme is a plain frozen value; items
make QColors when they paint. Category colours give each kind of node a stable
identity across themes (HTTP blue, Data teal, Flow violet, Files/SQL amber, Code
green, AI pink); state colours follow the usual traffic-light reading, so a glance at the
canvas during a run says what is going on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from PySide6.QtGui import QColor, QPalette

from app.states import ExecutionStatus, NodeStatus


@dataclass(frozen=True)
class CanvasTheme:
    """Every colour the canvas paints with."""

    name: str
    background: str
    grid: str
    node_fill: str
    node_border: str
    node_shadow: str
    title_text: str
    muted_text: str
    separator: str
    accent: str
    port_fill: str
    edge: str
    edge_invalid: str
    implicit_edge: str
    dirty: str
    problem: str
    categories: Mapping[str, str] = field(default_factory=dict)
    states: Mapping[str, str] = field(default_factory=dict)

    def category_colour(self, category: str) -> QColor:
        return QColor(self.categories.get(category, self.categories.get("", "#64748b")))

    def state_colour(self, status: str) -> QColor:
        return QColor(self.states.get(status, self.muted_text))

    def color(self, name: str) -> QColor:
        """One of the named colours as a QColor (``theme.color("accent")``)."""
        value = getattr(self, name)
        assert isinstance(value, str)
        return QColor(value)


_STATES: dict[str, str] = {
    NodeStatus.PENDING: "#94a3b8",
    NodeStatus.RUNNING: "#3b82f6",
    NodeStatus.RETRYING: "#f59e0b",
    NodeStatus.COMPLETED: "#16a34a",
    NodeStatus.FAILED: "#dc2626",
    NodeStatus.SKIPPED: "#a1a1aa",
    NodeStatus.CANCELLED: "#78716c",
    ExecutionStatus.INTERRUPTED: "#c026d3",
    ExecutionStatus.PAUSED: "#f59e0b",
}

LIGHT = CanvasTheme(
    name="light",
    background="#f6f7f9",
    grid="#d5d9e0",
    node_fill="#ffffff",
    node_border="#cfd4dc",
    node_shadow="#141f2937",
    title_text="#111827",
    muted_text="#6b7280",
    separator="#eceef2",
    accent="#2563eb",
    port_fill="#ffffff",
    edge="#8a94a6",
    edge_invalid="#dc2626",
    implicit_edge="#b6bdc9",
    dirty="#f59e0b",
    problem="#dc2626",
    categories=MappingProxyType(
        {
            "HTTP": "#2563eb",
            "Data": "#0d9488",
            "Flow": "#7c3aed",
            "Files/SQL": "#d97706",
            "Code": "#16a34a",
            "AI": "#db2777",
            "": "#64748b",
        }
    ),
    states=MappingProxyType(_STATES),
)

DARK = CanvasTheme(
    name="dark",
    background="#1b1e24",
    grid="#343a45",
    node_fill="#272b33",
    node_border="#3a404b",
    node_shadow="#66000000",
    title_text="#e8eaee",
    muted_text="#9aa3b2",
    separator="#323742",
    accent="#60a5fa",
    port_fill="#1b1e24",
    edge="#7b8597",
    edge_invalid="#f87171",
    implicit_edge="#4b5261",
    dirty="#fbbf24",
    problem="#f87171",
    categories=MappingProxyType(
        {
            "HTTP": "#60a5fa",
            "Data": "#2dd4bf",
            "Flow": "#a78bfa",
            "Files/SQL": "#fbbf24",
            "Code": "#4ade80",
            "AI": "#f472b6",
            "": "#94a3b8",
        }
    ),
    states=MappingProxyType(
        {
            **_STATES,
            NodeStatus.RUNNING: "#60a5fa",
            NodeStatus.COMPLETED: "#4ade80",
            NodeStatus.FAILED: "#f87171",
        }
    ),
)


def theme_for(palette: QPalette) -> CanvasTheme:
    """DARK when the palette's window colour is dark, else LIGHT."""
    return DARK if palette.color(QPalette.ColorRole.Window).lightness() < 128 else LIGHT
