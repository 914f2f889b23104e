"""What the command palette (Ctrl+K) offers in the window.

Every menu action (title: its text without the ``&`` mnemonic, detail: its
shortcut; one disabled now, like Cancel with nothing running, says so when chosen)
and, for every node type the engine listed, "Add node: <title>" (detail: the
dotted type), which adds the node at the centre of the canvas view. Entries are
built each time the palette opens, so Undo's text, the recent files and the node
types are the current ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

from renderer.command_palette import CommandPalette, PaletteEntry

if TYPE_CHECKING:
    from renderer.main_window import MainWindow


def _menu_actions(menu: QMenu | QMenuBar) -> list[QAction]:
    found: list[QAction] = []
    for action in menu.actions():
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            found += _menu_actions(submenu)
        elif not action.isSeparator() and action.text():
            found.append(action)
    return found


def action_entries(window: MainWindow, skip: QAction | None = None) -> list[PaletteEntry]:
    """One entry per action of the window's menus (``skip`` left out)."""
    entries = []
    for action in _menu_actions(window.menuBar()):
        if action is skip:
            continue
        title = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        detail = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        entries.append(PaletteEntry(title, detail, _runner(window, action, title)))
    return entries


def _runner(window: MainWindow, action: QAction, title: str) -> Callable[[], None]:
    def run() -> None:
        if action.isEnabled():
            action.trigger()
        else:
            window.statusBar().showMessage(f"{title}: not available now", 5000)

    return run


def node_entries(window: MainWindow) -> list[PaletteEntry]:
    """ "Add node: <title>" for every known node type, placed at the view's centre."""

    def adder(type_name: str) -> PaletteEntry:
        def add() -> None:
            view = window.view
            window.scene.add_node_at(type_name, view.mapToScene(view.viewport().rect().center()))

        title = window.document.catalog.title(type_name)
        return PaletteEntry(f"Add node: {title}", type_name, add)

    return [adder(info.type) for info in window.document.catalog.infos()]


def open_command_palette(window: MainWindow, palette: CommandPalette, own: QAction) -> None:
    """Fill ``palette`` with the window's current commands and show it."""
    palette.set_entries(action_entries(window, skip=own) + node_entries(window))
    palette.open_palette()
