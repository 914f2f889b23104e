"""The roomy node editor (double-click a node): input | parameters | output, side by side.

What n8n users reach for: the data that came in on the left, the node's fields in
the middle, what came out on the right — all for the last run of this blueprint —
and, under the fields, a **live preview** of the template being typed, rendered by
the worker against that run's data (the GUI never renders templates; the worker's
sandbox and bounds apply). The middle is the inspector's own form (the same fields,
undo and validation), so the two never disagree.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.results import OutputPage
from app.template_preview import TemplatePreview
from app.templates import is_template
from renderer.data_view import DataView, PageFetcher
from renderer.fonts import fixed_font
from renderer.inspector.inspector_panel import InspectorPanel

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

#: Quiet time after a keystroke before the preview is asked for, ms.
PREVIEW_DELAY_MS = 250


class NodeEditor(QDialog):
    """One node's editor over the window's document (see the module docstring)."""

    def __init__(self, window: MainWindow, node_id: str) -> None:
        super().__init__(window)
        self._window = window
        self.node_id = node_id
        self.setWindowTitle(f"Edit node — {node_id}")
        self.resize(1200, 720)
        self.execution_id = self._last_run()
        self.inputs = QTabWidget()
        self.output = DataView()
        self.form = InspectorPanel(window.document)
        self.form.child_resolver = window.inspector.child_resolver
        self.form.edit_refused.connect(window.statusBar().showMessage)
        self.preview_title = QLabel("Preview: click into a field with a template {{ … }}")
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFont(fixed_font())
        self.preview.setMaximumHeight(180)
        middle = QWidget()
        column = QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.form, 1)
        column.addWidget(self.preview_title)
        column.addWidget(self.preview)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for title, widget in (
            ("Input", self.inputs),
            ("Parameters", middle),
            ("Output", self.output),
        ):
            splitter.addWidget(_titled(title, widget))
        splitter.setSizes([330, 540, 330])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._previewed: QLineEdit | QPlainTextEdit | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh_preview)
        self._serial = 0
        self._pending: asyncio.Future[None] | None = None
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        app.focusChanged.connect(self._focus_changed)
        self.finished.connect(lambda _code: app.focusChanged.disconnect(self._focus_changed))
        self.form.show_node(node_id)
        self._show_data()

    # -- the last run's data ----------------------------------------------------------

    def _last_run(self) -> str | None:
        """The execution shown in the window when it ran this blueprint, else None."""
        runs = self._window.runs
        view = self._window.bridge.model.execution(runs.current) if runs.current else None
        same = view is not None and view.blueprint_id == self._window.document.model.blueprint_id
        return runs.current if same else None

    def upstream(self) -> list[str]:
        """The nodes whose outputs are this node's input, in blueprint order."""
        model = self._window.document.model
        sources = {s for s, t in model.edge_pairs() if t == self.node_id}
        return [n for n in model.node_ids() if n in sources]

    def _fetcher(self, node_id: str) -> PageFetcher:
        conductor, execution_id = self._window.bridge.conductor, self.execution_id
        assert execution_id is not None

        async def fetch(offset: int, limit: int) -> OutputPage:
            return await conductor.node_output(execution_id, node_id, offset=offset, limit=limit)

        return fetch

    def _show_data(self) -> None:
        if self.execution_id is None:
            note = "Run the blueprint to see data here."
            self.inputs.addTab(QLabel(note), "no run yet")
            self.output.set_source(None, title=f"{self.node_id}: {note}")
            return
        upstream = self.upstream()
        for node_id in upstream:
            view = DataView()
            view.set_source(self._fetcher(node_id), title=f"output of {node_id}")
            self.inputs.addTab(view, node_id)
        if not upstream:
            self.inputs.addTab(QLabel("The blueprint's inputs (no upstream node)."), "inputs")
        self.output.set_source(self._fetcher(self.node_id), title=f"output of {self.node_id}")

    # -- live preview -----------------------------------------------------------------

    @property
    def previewed_field(self) -> QLineEdit | QPlainTextEdit | None:
        """The text field whose template the preview shows."""
        return self._previewed

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        editable = isinstance(new, QLineEdit | QPlainTextEdit) and not new.isReadOnly()
        if editable and new is not None and self.form.isAncestorOf(new):
            assert isinstance(new, QLineEdit | QPlainTextEdit)
            self.preview_field(new)

    def preview_field(self, line: QLineEdit | QPlainTextEdit) -> None:
        """Preview ``line`` now and whenever its text changes."""
        if self._previewed is not line:
            if self._previewed is not None:
                self._previewed.textChanged.disconnect(self._timer.start)
            self._previewed = line
            line.textChanged.connect(self._timer.start)
        self.refresh_preview()

    def refresh_preview(self) -> asyncio.Future[None] | None:
        """Ask the worker to render the previewed field's text (the newest ask wins)."""
        line = self._previewed
        if line is None:
            return None
        text = line.text() if isinstance(line, QLineEdit) else line.toPlainText()
        if not is_template(text):
            self.preview_title.setText("Preview: this field has no template {{ … }}")
            self.preview.setPlainText(text)
            return None
        self._serial += 1
        serial = self._serial
        conductor = self._window.bridge.conductor

        async def ask() -> None:
            shown = await conductor.preview_template(
                text,
                execution_id=self.execution_id,
                node_id=self.node_id,
                upstream=self.upstream(),
            )
            if serial == self._serial:
                self.show_preview(shown)

        self._pending = self._window.bridge.submit(ask(), "template preview")
        return self._pending

    def show_preview(self, shown: TemplatePreview) -> None:
        against = "the last run" if self.execution_id else "no run (run once to preview data)"
        if shown.ok:
            cut = " (cut)" if shown.truncated else ""
            self.preview_title.setText(f"Preview against {against}: {shown.kind}{cut}")
            self.preview.setPlainText(shown.text)
            self.preview.setStyleSheet("")
        else:
            self.preview_title.setText(f"Preview against {against}: cannot render")
            where = f"\n(at {shown.where})" if shown.where else ""
            self.preview.setPlainText(f"{shown.error}{where}")
            self.preview.setStyleSheet("color: #b3261e;")

    async def previewed(self) -> None:
        """Wait for the preview asked last (for tests)."""
        if self._pending is not None:
            await self._pending


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(4, 4, 4, 4)
    label = QLabel(f"<b>{title}</b>")
    column.addWidget(label)
    column.addWidget(widget, 1)
    return box


def open_node_editor(window: MainWindow, node_id: str) -> NodeEditor:
    """Show the editor for ``node_id`` (non-modal: the canvas stays usable)."""
    editor = NodeEditor(window, node_id)
    editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    editor.show()
    return editor
