"""The problems list under the inspector: the document's validation problems.

It mirrors ``EditorDocument.problems`` (refilled on ``problems_changed``), and a
click on a problem whose place starts with ``nodes[i]`` asks for the i-th node of
the document, so the window can select it on the canvas (and the inspector shows it).
The window shows it in :attr:`ProblemsList.panel`, under a title that counts them;
long messages wrap, and each row's tooltip holds its whole text (rows were cut).
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from renderer.editor.document import EditorDocument

_NODE_PLACE = re.compile(r"nodes\[(\d+)\]")
_NODE = Qt.ItemDataRole.UserRole


class ProblemsList(QListWidget):
    """One row per problem; clicking a node's problem emits ``node_requested``."""

    #: The user clicked a problem of this node: show it.
    node_requested = Signal(str)

    def __init__(self, document: EditorDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setWordWrap(True)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.title = QLabel()
        #: The list under its title: what the window lays out.
        self.panel = QWidget(parent)
        column = QVBoxLayout(self.panel)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(self.title)
        column.addWidget(self)
        document.problems_changed.connect(self._refill)
        self._refill()
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)

    def _refill(self) -> None:
        self.clear()
        node_ids = self.document.model.node_ids()
        for problem in self.document.problems:
            item = QListWidgetItem(f"⚠ {problem}")
            item.setToolTip(str(problem))
            found = _NODE_PLACE.match(problem.where)
            index = int(found.group(1)) if found else -1
            if 0 <= index < len(node_ids):
                item.setData(_NODE, node_ids[index])
                item.setToolTip(f"{problem}\n\nClick to select {node_ids[index]}")
            self.addItem(item)
        count = len(self.document.problems)
        self.title.setText(f"<b>Problems</b> ({count})" if count else "<b>Problems</b> — none")

    def node_of(self, row: int) -> str | None:
        """The node the problem in ``row`` names, or None."""
        item = self.item(row)
        value = item.data(_NODE) if item is not None else None
        return value if isinstance(value, str) else None

    def _clicked(self, item: QListWidgetItem) -> None:
        node_id = item.data(_NODE)
        if isinstance(node_id, str) and self.document.model.has_node(node_id):
            self.node_requested.emit(node_id)
