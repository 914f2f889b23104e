"""A JSON value as an expandable tree: the Data tab's view of a node's output.

Large values are cut off after ``MAX_CHILDREN`` children per level so a node that
returned a million rows cannot freeze the window; the cut says how many are left.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

MAX_CHILDREN = 500


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class JsonTree(QTreeWidget):
    """Shows one JSON-like value; keys in the first column, scalars in the second."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["key", "value"])
        self.setColumnWidth(0, 220)

    def set_value(self, title: str, value: Any) -> None:
        self.clear()
        root = QTreeWidgetItem([title, ""])
        self.addTopLevelItem(root)
        self._fill(root, value)
        root.setExpanded(True)
        for index in range(min(root.childCount(), 50)):
            child = root.child(index)
            if child is not None:
                child.setExpanded(True)

    def _fill(self, item: QTreeWidgetItem, value: Any) -> None:
        children: list[tuple[str, Any]]
        if isinstance(value, dict):
            children = [(str(k), v) for k, v in value.items()]
            item.setText(1, f"{{{len(value)} keys}}")
        elif isinstance(value, list):
            children = [(f"[{i}]", v) for i, v in enumerate(value)]
            item.setText(1, f"[{len(value)} items]")
        else:
            item.setText(1, _scalar(value))
            return
        for key, child_value in children[:MAX_CHILDREN]:
            child = QTreeWidgetItem([key, ""])
            item.addChild(child)
            self._fill(child, child_value)
        if len(children) > MAX_CHILDREN:
            item.addChild(QTreeWidgetItem(["…", f"{len(children) - MAX_CHILDREN} more"]))

    def texts(self) -> list[str]:
        """Every cell's text, depth first (for tests and copy)."""
        out: list[str] = []

        def walk(node: QTreeWidgetItem | None) -> None:
            if node is None:
                return
            out.extend([node.text(0), node.text(1)])
            for index in range(node.childCount()):
                walk(node.child(index))

        for index in range(self.topLevelItemCount()):
            walk(self.topLevelItem(index))
        return out
