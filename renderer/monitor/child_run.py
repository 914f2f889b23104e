"""The Child run tab: the execution a ``blueprint.call`` node started, and a way in.

A child run is a full execution (recorded, in History, resumable), so "open" shows
it in the monitor exactly as History opens a past run; the child's own monitor
then links back to its parent (see :meth:`MonitorPanel.show_parent`).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.subflow_results import ChildExecution


class ChildRunPanel(QWidget):
    """The selected call node's child execution: id, blueprint, status, Open."""

    #: The user asked to open this child execution (its id).
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open child run")
        self.open_button.clicked.connect(self._open)
        self.open_button.setEnabled(False)
        #: The child execution shown (the latest this node started).
        self.child_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.label)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

    def show_children(self, node_id: str, children: list[ChildExecution]) -> None:
        """Show the latest child ``node_id`` started (a retried node may have several)."""
        mine = [c for c in children if c.parent_node_id == node_id]
        if not mine:
            self.child_id = None
            self.label.setText(f"<b>{html.escape(node_id)}</b> has started no child run yet.")
            self.open_button.setEnabled(False)
            return
        child = mine[-1]
        self.child_id = child.execution_id
        more = f"<br>({len(mine)} child runs of this node; the latest)" if len(mine) > 1 else ""
        self.label.setText(
            f"<b>{html.escape(node_id)}</b> runs blueprint "
            f"<b>{html.escape(child.blueprint_id)}</b> as child execution<br>"
            f"<code>{html.escape(child.execution_id)}</code> · <b>{child.status.value}</b>{more}"
        )
        self.open_button.setEnabled(True)

    def _open(self) -> None:
        if self.child_id is not None:
            self.open_requested.emit(self.child_id)
