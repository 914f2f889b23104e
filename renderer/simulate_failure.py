""" "Simulate failure": run the blueprint with one node failing on purpose.

An error path — ``on_error: continue``, retries, a ``catch`` node, an error-handler
blueprint — is only trusted once it has run. This submenu of a node's right-click
menu (and of the Run menu, for the selected node) starts a run whose config injects
a fault into that node (``config.inject``, see :mod:`app.fault_injection`):

* **Error**: the node fails at once with an ``InjectedFaultError``;
* **Timeout**: the node outlives its own timeout (offered only for nodes that have
  one — a node without a timeout cannot time out);
* **Slow (+5 s)**: the node waits five seconds, then runs.

The run is an ordinary run of the document's blueprint (pins used, the shown run's
inputs reused so none are asked again); History marks it "(simulated)".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from app.fault_injection import FaultKind

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

#: The delay of the menu's "Slow" entry, in seconds.
SLOW_SECONDS = 5
_NO_TIMEOUT = "This node has no timeout, so it cannot time out: set one in its editor first"


class FailureSimulation:
    """The "Simulate failure" submenu; ``reused`` gives the shown run's inputs."""

    def __init__(
        self,
        window: MainWindow,
        reused: Callable[[], tuple[dict[str, Any], dict[str, Any] | None]],
    ) -> None:
        self.window = window
        self._reused = reused
        self.menu = QMenu("Simulate failure", window)
        self.menu.setToolTipsVisible(True)
        self.error = self._entry("Error", FaultKind.ERROR.value)
        self.error.setToolTip("Run the blueprint with this node failing at once")
        self.timeout = self._entry("Timeout", FaultKind.TIMEOUT.value)
        self.slow = self._entry(f"Slow (+{SLOW_SECONDS} s)", f"slow:{SLOW_SECONDS}")
        self.slow.setToolTip(f"Run the blueprint with this node {SLOW_SECONDS} s late")
        self.menu.aboutToShow.connect(self.refresh)
        #: The menu's entry in another menu (the node's right-click menu, Run).
        self.action: QAction = self.menu.menuAction()
        self.action.setToolTip("Run with this node failing on purpose, to try the error paths")
        window.scene.selectionChanged.connect(self.refresh)
        self.refresh()

    def _entry(self, text: str, fault: str) -> QAction:
        action = self.menu.addAction(text)
        action.triggered.connect(lambda _checked=False: self.simulate(fault))
        return action

    def _selected(self) -> str | None:
        selected = self.window.scene.selected_node_ids()
        return selected[0] if len(selected) == 1 else None

    def refresh(self) -> None:
        """Enabled for one selected node; Timeout only when that node has a timeout."""
        if not shiboken6.isValid(self.window.scene):
            return  # the window is being torn down (its scene tells of the last items)
        node_id = self._selected()
        model = self.window.document.model
        present = node_id is not None and model.has_node(node_id)
        self.action.setEnabled(present)
        timed = present and node_id is not None and model.node(node_id).timeout is not None
        self.timeout.setEnabled(timed)
        self.timeout.setToolTip(
            "Run the blueprint with this node outliving its timeout" if timed else _NO_TIMEOUT
        )

    def simulate(self, fault: str, node_id: str | None = None) -> asyncio.Future[str | None] | None:
        """Run the document's blueprint with ``fault`` injected into ``node_id`` (else
        the selected node); the result is the execution id (None: not run)."""
        target = node_id or self._selected()
        if target is None or not self.window.document.model.has_node(target):
            self.window.statusBar().showMessage("Select one node to simulate its failure", 8000)
            return None
        _reuse, inputs = self._reused()
        self.window.statusBar().showMessage(f"Simulating {target}={fault}", 8000)
        return self.window.runs.run({"inject": {target: fault}}, inputs)
