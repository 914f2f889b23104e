"""Quick add: a searchable node picker where the user is looking, connected for them.

What n8n, Node-RED and ComfyUI users reach for first: drop a wire on empty canvas,
double-click empty canvas, or press Tab, type a few letters, press Enter — and the
node is there, under the pointer, already wired to the port the wire came from.
The picker is the command palette's filter and ranking over the node catalog, so
both search the same way. Adding and connecting is one undo step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPoint, QPointF
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from app.results import NodeTypeInfo
from renderer.canvas.scene import BlueprintScene
from renderer.command_palette import CommandPalette, PaletteEntry


@dataclass(frozen=True, slots=True)
class WireEnd:
    """Where a dropped wire started: the node and the output port (None: the default)."""

    node_id: str
    port: str | None


def describe(info: NodeTypeInfo) -> str:
    """The picker's detail line: the dotted type, its category and first sentence."""
    first = info.description.strip().split("\n\n", 1)[0].replace("\n", " ")
    summary = first.split(". ", 1)[0].rstrip(".")
    head = " · ".join(part for part in (info.type, info.category) if part)
    return f"{head} — {summary}" if summary else head


class QuickAdd(QObject):
    """Opens the node picker for a scene position and adds the chosen node there.

    The scene asks for it (a wire dropped on nothing, a double-click on nothing),
    the view asks for it (Tab, the canvas menu); either way :meth:`open_at` shows
    the picker near ``screen_pos`` and remembers where the node should go.
    """

    def __init__(self, scene: BlueprintScene, parent: QWidget) -> None:
        super().__init__(parent)
        self._scene = scene
        self.picker = CommandPalette(parent)
        self.picker.setWindowTitle("Add node")
        self.picker.filter.setPlaceholderText("Search node types… (Enter adds, Esc cancels)")
        self.picker.resize(480, 340)
        #: The node ids added by the picker, newest first (for tests and status messages).
        self.added: list[str] = []

    def entries(self, at: QPointF, source: WireEnd | None) -> list[PaletteEntry]:
        """One entry per node type, in catalog order (the ranking does the rest)."""
        return [
            PaletteEntry(info.title, describe(info), self._adder(info.type, at, source))
            for info in self._scene.document.catalog.infos()
        ]

    def _adder(self, type_name: str, at: QPointF, source: WireEnd | None) -> Callable[[], None]:
        def chosen() -> None:
            self.add(type_name, at, source)

        return chosen

    def open_at(self, at: QPointF, screen_pos: QPoint, source: WireEnd | None = None) -> None:
        """Show the picker near ``screen_pos``; the node will sit at scene point ``at``."""
        self.picker.set_entries(self.entries(at, source))
        self.picker.open_palette()
        self.picker.move(self._on_screen(QPoint(screen_pos.x() + 8, screen_pos.y() + 8)))
        self.picker.filter.setFocus()

    def _on_screen(self, pos: QPoint) -> QPoint:
        """``pos`` moved left/up as needed so the whole picker is on the screen.

        A wire dropped near the canvas's right edge once opened the picker half
        off a 1,400 px screen (Xvfb trial), its search results cut off.
        """
        screen = QGuiApplication.screenAt(pos) or self.picker.screen()
        area = screen.availableGeometry()
        size = self.picker.frameGeometry().size().expandedTo(self.picker.size())
        x = max(area.left(), min(pos.x(), area.right() + 1 - size.width()))
        y = max(area.top(), min(pos.y(), area.bottom() + 1 - size.height()))
        return QPoint(x, y)

    def add(self, type_name: str, at: QPointF, source: WireEnd | None = None) -> str | None:
        """Add ``type_name`` at ``at`` (wired from ``source``) as one undo step.

        A refused edit says why through the scene's signals (the status bar shows
        it); a refused connection keeps the node, which the user asked for.
        """
        label = self._scene.document.catalog.title(type_name)
        with self._scene.document.macro(f"Add {label}"):
            node_id = self._scene.add_node_at(type_name, at)
            if node_id is not None and source is not None:
                self._scene.connect_ports(source.node_id, node_id, source.port)
        if node_id is not None:
            self.added.insert(0, node_id)
        return node_id
