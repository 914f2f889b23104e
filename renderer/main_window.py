"""The main window: editor in the middle, library/history left, monitor below.

It wires views to the document (the single source of truth for the blueprint) and
to the :class:`~renderer.bridge.Bridge` (the only way to the worker). Everything
that talks to the worker runs as a task and answers through signals, so a slow or
dead worker never freezes the window. Run-related behaviour lives in
:class:`~renderer.run_control.RunControl`; this module is layout, files and
persistence.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.errors import ConductorError, Problem
from app.paths import data_dir
from renderer import appearance
from renderer.actions import build_actions, clipboard_text, fill_recent
from renderer.autosave import Autosaver, Recovery, find_recoveries
from renderer.banner import Banner
from renderer.bridge import Bridge
from renderer.canvas.scene import BlueprintScene
from renderer.canvas.view import CanvasView
from renderer.editor.document import EditorDocument
from renderer.file_dialogs import ask_open_path, ask_save_path, fitting_size
from renderer.inspector.blueprint_panel import BlueprintPanel, inspector_tabs
from renderer.inspector.inspector_panel import InspectorPanel
from renderer.library_control import LibraryControl
from renderer.monitor.monitor_panel import MonitorPanel
from renderer.palette import NodePalette
from renderer.problems_list import ProblemsList
from renderer.run_control import RunControl
from renderer.settings import AppSettings
from renderer.side_lists import HistoryList, LibraryList
from renderer.triggers_panel import TriggersControl
from renderer.unsaved import may_discard

_WORKER_TEXT = {
    "starting": "worker: starting…",
    "ready": "worker: ready ({detail})",
    "dead": "worker: stopped ({detail})",
    "restarting": "worker: restarting…",
    "gave_up": "worker: gave up ({detail})",
    "closed": "worker: closed",
}


def _loop_running() -> bool:
    """False when Qt closes the window outside the loop (then whoever ran it closes the
    bridge, as ``app_main`` and ``shutdown`` do): a task made now would never run."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class MainWindow(QMainWindow):
    """Conductor's window (see the module docstring)."""

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        bridge: Bridge | None = None,
        autosave_ms: int = 5000,
        restore: bool = True,
    ) -> None:
        super().__init__()
        self.home = Path(home) if home is not None else data_dir()
        self.settings = AppSettings()
        self.document = EditorDocument(parent=self)
        self.scene = BlueprintScene(self.document)
        self.view = CanvasView(self.scene)
        self.palette_panel = NodePalette()
        self.inspector = InspectorPanel(self.document)
        self.monitor = MonitorPanel()
        self.library = LibraryList()
        self.history = HistoryList()
        self.problems_list = ProblemsList(self.document)
        self.crash_banner = Banner("#b91c1c")
        self.recovery_banner = Banner("#2563eb")
        self.worker_label = QLabel("worker: starting…")
        self.last_error = ""
        self._error_box: QMessageBox | None = None
        #: Closing with unsaved edits asks Save / Discard / Cancel (off for test teardown).
        self.ask_before_discarding = True
        self.recoveries: list[Recovery] = []
        self._closed = False
        self._shutting_down = False
        self._close_task: asyncio.Future[None] | None = None
        # Not a child of the window: the worker must be closable after Qt deleted it.
        self.bridge = bridge or Bridge(self.home)
        self.runs = RunControl(self)
        self.library_control = LibraryControl(self)
        self.library_control.new_document()
        self._revalidate = QTimer(self)
        self._revalidate.setSingleShot(True)
        self._revalidate.setInterval(600)
        self._revalidate.timeout.connect(self.validate)
        self._build_layout()
        self.triggers_control = TriggersControl(self)
        self.commands = build_actions(self)
        self._connect()
        self.autosaver = Autosaver(self.document, self.home / "autosave", autosave_ms, self)
        self.apply_scheme()
        fill_recent(self, self.commands.recent_menu, self.settings.recent_files())
        if restore:
            self._restore()
        self._update_title()
        self.setAcceptDrops(True)
        self.bridge.load_node_types()
        self.refresh_lists()
        self._offer_recovery()

    # -- layout ---------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks.append(dock)
        return dock

    def _build_layout(self) -> None:
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.recovery_banner)
        column.addWidget(self.crash_banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(centre)
        self.docks: list[QDockWidget] = []
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.palette_panel)
        lists = (
            ("Library", [self.library, self.library.buttons]),
            ("History", [self.history.filter_edit, self.history]),
        )
        for title, widgets in lists:
            box = QWidget()
            layout = QVBoxLayout(box)
            layout.setContentsMargins(2, 2, 2, 2)
            for widget in [QLabel(f"<b>{title}</b>"), *widgets]:
                layout.addWidget(widget)
            left.addWidget(box)
        self._dock("Nodes", left, Qt.DockWidgetArea.LeftDockWidgetArea)
        right = QSplitter(Qt.Orientation.Vertical)
        self.blueprint_panel = BlueprintPanel(self.document)
        self.inspector_tabs = inspector_tabs(self.inspector, self.blueprint_panel)
        right.addWidget(self.inspector_tabs)
        right.addWidget(self.problems_list.panel)
        right.setSizes([600, 120])
        self._dock("Inspector", right, Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock("Monitor", self.monitor, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.statusBar().addPermanentWidget(self.worker_label)
        self.resize(fitting_size(self.screen().availableGeometry().size()))

    def _connect(self) -> None:
        doc = self.document
        for signal in (doc.dirty_changed, doc.path_changed, doc.reset):
            signal.connect(self._update_title)
        doc.edited.connect(self._revalidate.start)
        self.palette_panel.node_type_requested.connect(self._add_node)
        self.scene.node_selection_changed.connect(self.inspector.show_selection)
        self.scene.node_selection_changed.connect(self.runs.canvas_selection_changed)
        self.scene.node_selection_changed.connect(self._show_node_tab)
        self.scene.connection_refused.connect(self._edit_refused)
        self.scene.edit_refused.connect(self._edit_refused)
        self.history.execution_open_requested.connect(self.runs.open_execution)
        self.problems_list.node_requested.connect(self.show_node)
        bridge = self.bridge
        bridge.worker_state_changed.connect(self._worker_state_changed)
        bridge.node_types_loaded.connect(self._node_types_loaded)
        bridge.request_failed.connect(self._request_failed)
        bridge.execution_finished.connect(lambda *_: self.refresh_lists())
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(lambda _scheme: self.apply_scheme())

    def apply_scheme(self, dark: bool | None = None) -> None:
        theme = appearance.apply_scheme(dark)
        self.scene.set_theme(theme)
        self.palette_panel.set_theme(theme)
        self.monitor.timeline.theme = theme

    def _show_node_tab(self, node_ids: list[str]) -> None:
        if node_ids:
            self.inspector_tabs.setCurrentIndex(0)

    def focus_palette(self) -> None:
        self.palette_panel.filter_edit.setFocus()

    def _add_node(self, type_name: str) -> None:
        self.document.add_node(type_name)

    def _update_title(self, *_args: object) -> None:
        self.setWindowTitle(f"Conductor — {self.document.title()}")

    # -- worker ---------------------------------------------------------------------

    def _node_types_loaded(self, node_types: list[object]) -> None:
        from app.results import NodeTypeInfo

        infos = [t for t in node_types if isinstance(t, NodeTypeInfo)]
        self.document.set_node_types(infos)
        self.palette_panel.set_node_types(infos)

    def _worker_state_changed(self, state: str, detail: str) -> None:
        self.worker_label.setText(_WORKER_TEXT.get(state, state).format(detail=detail))
        self.runs.worker_state_changed(state, detail)
        if state == "ready":
            self.refresh_lists()

    def _edit_refused(self, reason: str) -> None:
        """A refused wire or edit says why (the canvas showed it at the cursor too)."""
        self.statusBar().showMessage(f"Not changed: {reason}", 8000)

    def _request_failed(self, what: str, message: str) -> None:
        self.statusBar().showMessage(f"{what} failed: {message}", 10000)

    def refresh_lists(self) -> None:
        async def refresh() -> None:
            self.library.set_blueprints(await self.bridge.conductor.list_blueprints())
            self.history.set_executions(await self.bridge.conductor.list_executions(limit=100))

        self.bridge.submit(refresh(), "refresh lists")

    def validate(self) -> asyncio.Future[None] | None:
        """Re-check the blueprint a moment after an edit, so problems show while editing."""
        if self.bridge.worker_state != "ready":
            return None
        blueprint = self.document.to_blueprint()

        async def check() -> None:
            problems = await self.bridge.conductor.validate(blueprint)
            if self.document.to_blueprint() == blueprint:  # not stale
                self.show_problems(problems)

        return self.bridge.submit(check(), "validate")

    def show_problems(self, problems: list[Problem]) -> None:
        self.document.set_problems(problems)  # the problems list follows the document

    def show_node(self, node_id: str) -> None:
        """Select the node on the canvas (the inspector follows) and scroll it into view."""
        self.scene.select_nodes([node_id])
        if (item := self.scene.node_item(node_id)) is not None:
            self.view.ensureVisible(item)

    # -- files ----------------------------------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        """A clear, non-blocking message (never a crash) for a user's mistake."""
        self.last_error = message
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self._error_box = box

    def new_document(self) -> None:
        if may_discard(self, self):
            self.library_control.new_document()

    def open_dialog(self) -> None:
        if (path := ask_open_path(self)) is not None:
            self.open_file(path)

    def open_file(self, path: Path) -> bool:
        """Open a blueprint file; a bad file gets a message and leaves the document as is."""
        if not may_discard(self, self):
            return False
        try:
            self.document.open(path)
        except ConductorError as exc:
            self.show_error("Cannot open blueprint", f"{path.name}: {exc}")
            return False
        except OSError as exc:
            self.show_error("Cannot open blueprint", f"{path.name}: {exc.strerror or exc}")
            return False
        self.view.fit_to_view()  # the run control repainted the badges (document.reset)
        fill_recent(self, self.commands.recent_menu, self.settings.add_recent(path))
        self.settings.set_open_file(path)
        return True

    def save(self) -> bool:
        """Save to the document's file; one with no file is named and saved to the library."""
        if self.document.path is None:
            return self.library_control.save_named()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        path = ask_save_path(self)
        return path is not None and self.save_to(path)

    def save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except (OSError, ConductorError) as exc:
            self.show_error("Cannot save", f"{path}: {exc}")
            return False
        fill_recent(self, self.commands.recent_menu, self.settings.add_recent(path))
        self.settings.set_open_file(path)
        self.autosaver.save_now()
        return True

    def copy_selection(self) -> None:
        QGuiApplication.clipboard().setText(self.scene.copy_selection())

    def paste(self) -> None:
        self.view.paste(clipboard_text())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_file(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return

    # -- persistence ----------------------------------------------------------------

    def _restore(self) -> None:
        geometry, state = self.settings.geometry(), self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        last = self.settings.open_file()
        if last and Path(last).is_file():
            self.open_file(Path(last))

    def _offer_recovery(self) -> None:
        self.recoveries = find_recoveries(self.home / "autosave")
        if not self.recoveries:
            return
        names = ", ".join(
            r.original.name if r.original else r.blueprint.id for r in self.recoveries
        )
        self.recovery_banner.show_message(
            f"Unsaved work from a session that ended unexpectedly can be recovered: {names}",
            {"Recover": self.recover, "Discard": self.discard_recoveries},
        )

    def recover(self) -> None:
        """Open the newest orphaned autosave as an unsaved (dirty) document."""
        if not self.recoveries:
            return
        recovery = self.recoveries.pop()
        self.document.load(recovery.blueprint, recovery.original)
        self.document.undo_stack.resetClean()
        recovery.discard()
        self.autosaver.save_now()
        if not self.recoveries:
            self.recovery_banner.hide()

    def discard_recoveries(self) -> None:
        for recovery in self.recoveries:
            recovery.discard()
        self.recoveries = []
        self.recovery_banner.hide()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout, drop the autosave (a clean close) and stop the worker."""
        asking = self.ask_before_discarding and not self._shutting_down
        if not self._closed and asking and not may_discard(self, self):
            event.ignore()
            return
        if not self._closed:
            self._closed = True
            self.settings.save_window(self.saveGeometry(), self.saveState())
            self.settings.sync()
            self.autosaver.discard()
            if not self._shutting_down and _loop_running():
                self._close_task = asyncio.ensure_future(self.bridge.close())
        super().closeEvent(event)

    async def shutdown(self) -> None:
        """Close cleanly and wait for the worker to exit (tests, the app's last step)."""
        self._shutting_down = True
        if shiboken6.isValid(self):
            self.close()
        await self.bridge.close()
