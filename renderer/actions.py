"""The window's menus, toolbar and shortcuts, in one place.

Actions only call the window's (and its run control's) intent methods; keeping
them here keeps ``main_window.py`` about behaviour, and makes the shortcut list
easy to read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu

from renderer.command_palette import CommandPalette
from renderer.node_actions import NodeActions
from renderer.node_editor import open_node_editor
from renderer.palette_commands import open_command_palette
from renderer.secrets_dialog import show_secrets
from renderer.shortcuts_dialog import ShortcutsDialog
from renderer.sub_blueprints import SubBlueprints

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

_Key = QKeySequence.StandardKey


@dataclass
class Actions:
    """The actions tests and the window enable, disable or trigger."""

    run: QAction
    cancel: QAction
    #: Enabled while the shown execution runs (see RunControl).
    pause: QAction
    resume: QAction
    run_from_here: QAction
    rerun: QAction
    recent_menu: QMenu
    run_debug: QAction
    #: The Ctrl+K action and the palette it opens.
    command_palette: QAction
    palette: CommandPalette
    #: Run this node / up to here, pins, disable (also for context menus).
    node: NodeActions
    #: Make / open sub-blueprints, and the breadcrumbs back.
    sub: SubBlueprints


def _action(
    window: MainWindow, text: str, slot: Callable[[], object], shortcut: object = None
) -> QAction:
    """A menu action calling ``slot()``: with no arguments, though ``triggered`` sends
    ``checked`` (a slot with an optional first parameter took ``False`` for it:
    ``auto_layout(False)`` failed on every Ctrl+L)."""
    action = QAction(text, window)
    if shortcut is not None:
        if isinstance(shortcut, _Key):
            action.setShortcuts(shortcut)
        else:
            action.setShortcut(QKeySequence(str(shortcut)))
    action.triggered.connect(lambda _checked=False: slot())
    return action


def build_actions(window: MainWindow) -> Actions:
    """Create the File, Edit, Run and View menus and the toolbar."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(_action(window, "&New", window.new_document, _Key.New))
    file_menu.addAction(_action(window, "&Open…", window.open_dialog, _Key.Open))
    recent = file_menu.addMenu("Open &Recent")
    file_menu.addAction(_action(window, "&Save", window.save, _Key.Save))
    file_menu.addAction(_action(window, "Save &As…", window.save_as, _Key.SaveAs))
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "&Quit", window.close, _Key.Quit))

    edit = bar.addMenu("&Edit")
    stack = window.document.undo_stack
    undo, redo = stack.createUndoAction(window, "&Undo"), stack.createRedoAction(window, "&Redo")
    undo.setShortcuts(_Key.Undo)
    redo.setShortcuts(_Key.Redo)
    edit.addActions([undo, redo])
    edit.addSeparator()
    edit.addAction(_action(window, "&Copy", window.copy_selection))
    edit.addAction(_action(window, "&Paste", window.paste))
    edit.addAction(_action(window, "&Delete", window.scene.delete_selection))
    edit.addAction(_action(window, "Auto-&layout", window.document.auto_layout, "Ctrl+L"))
    edit.addAction(_action(window, "&Add node… (Tab)", window.view.open_quick_add))
    node = NodeActions(window)
    edit.addSeparator()
    edit.addActions([node.toggle_disabled, node.pin, node.pin_json, node.unpin])
    sub = SubBlueprints(window)
    edit.addSeparator()
    edit.addActions([sub.make, sub.open, sub.back])

    run_menu = bar.addMenu("&Run")
    run = _action(window, "▶ Run", window.runs.run, "Ctrl+R")
    cancel = _action(window, "■ Cancel", window.runs.cancel, "Ctrl+.")
    # "‖", not "⏸": no font of a fresh Debian has U+23F8, and the button showed a box.
    pause = _action(window, "‖ Pause", window.runs.pause, "Ctrl+Shift+P")
    pause.setToolTip("Start no new node; running ones finish. Resume continues the run.")
    pause.setEnabled(False)
    resume = _action(window, "↻ Resume", window.runs.resume, "Ctrl+Shift+R")
    here = _action(window, "⤓ Run from here", window.runs.run_from_here, "Ctrl+Shift+H")
    rerun = _action(window, "Re-run", window.runs.rerun, "Ctrl+Alt+R")
    debug = _action(window, "Run with &debug", lambda: window.runs.run({"debug_mode": True}))
    debug.setToolTip("Run, recording every node's input as well as its output")
    run_menu.addActions([run, debug, cancel, pause, resume, here, node.run_node, node.run_up_to])
    run_menu.addAction(rerun)
    run_menu.addAction(node.simulate.action)

    view = bar.addMenu("&View")
    for dock in window.docks:
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    view.addAction(_action(window, "&Fit", window.view.fit_to_view, "Ctrl+0"))
    minimap = QAction("&Minimap", window)
    minimap.setCheckable(True)
    minimap.setChecked(True)
    minimap.toggled.connect(window.view.minimap.set_wanted)
    view.addAction(minimap)
    view.addAction(_action(window, "Node &palette", window.focus_palette, "Ctrl+Shift+K"))
    palette = CommandPalette(window)
    commands = QAction("&Command palette…", window)
    commands.setShortcut(QKeySequence("Ctrl+K"))
    commands.triggered.connect(lambda: open_command_palette(window, palette, commands))
    view.addAction(commands)

    tools = bar.addMenu("&Tools")
    tools.addAction(_action(window, "&Secrets…", lambda: show_secrets(window)))

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(window, "&Keyboard shortcuts", lambda: show_shortcuts(window)))
    window.view.menus.node_extras.extend(
        [here, node.run_node, node.run_up_to, node.pin, node.pin_json, node.unpin]
    )
    menus = window.view.menus
    menus.node_extras.extend([node.toggle_disabled, node.simulate.action, sub.make, sub.open])
    menus.open_editor = lambda node_id: open_node_editor(window, node_id)
    window.scene.node_activated.connect(lambda node_id: _activated(window, sub, node_id))

    toolbar = window.addToolBar("Run")
    toolbar.setObjectName("run-toolbar")
    toolbar.addActions([run, cancel, pause, resume, here, node.run_node, node.run_up_to])
    actions = Actions(
        run, cancel, pause, resume, here, rerun, recent, debug, commands, palette, node, sub
    )
    window.runs.update_actions(actions)
    return actions


def _activated(window: MainWindow, sub: SubBlueprints, node_id: str) -> None:
    """A double-click opens a call node's sub-blueprint, any other node's editor (and a
    call's whose child is not named yet, to name it)."""
    if sub.call_target(node_id) is not None:
        sub.open_sub_blueprint(node_id)
    else:
        open_node_editor(window, node_id)


def show_shortcuts(window: MainWindow) -> ShortcutsDialog:
    dialog = ShortcutsDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def fill_recent(window: MainWindow, menu: QMenu, files: list[str]) -> None:
    menu.clear()
    for entry in files:
        action = menu.addAction(Path(entry).name)
        action.setToolTip(entry)
        action.triggered.connect(lambda _checked=False, p=entry: window.open_file(Path(p)))
    menu.setEnabled(bool(files))


def clipboard_text() -> str:
    return QApplication.clipboard().text()
