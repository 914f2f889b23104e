"""Node card sizes, shared by the painter and the (Qt-free) auto-layout.

Kept in plain Python so :mod:`renderer.canvas.layout` can space nodes by their real
heights without importing Qt.
"""

from __future__ import annotations

#: Width of every node card.
NODE_WIDTH = 200.0
#: Height of the title block (coloured strip, title, type).
HEADER_HEIGHT = 52.0
#: Height of one named output port's row.
PORT_ROW_HEIGHT = 22.0
#: Padding below the port rows when there are any.
PORT_PADDING = 6.0
#: Height of the run-state badge row at the foot.
BADGE_HEIGHT = 28.0


def node_height(named_ports: int) -> float:
    """Height of a card with this many named output ports (0: one unnamed output)."""
    ports = PORT_ROW_HEIGHT * named_ports + (PORT_PADDING if named_ports else 0.0)
    return HEADER_HEIGHT + ports + BADGE_HEIGHT


#: The canvas grid: dots are drawn, and new nodes placed, on this spacing.
GRID = 20.0


def title_at(x: float, y: float) -> tuple[float, float]:
    """The grid-snapped top-left of a node whose title sits under the point (x, y)."""
    return (round((x - NODE_WIDTH / 2) / GRID) * GRID, round((y - 20) / GRID) * GRID)
