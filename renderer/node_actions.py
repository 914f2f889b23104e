"""Actions on one node: run it alone or up to it, pin its output, disable it.

Each is a ``QAction`` on the main window (menus and the toolbar hold them; a
context menu adds the same objects) acting on the selected node, and a method
taking an explicit ``node_id`` for callers that know the node (a right-click):

* **Run this node** (``only``): the node alone, fed by the shown run's recorded
  outputs (``reuse_from``) or pins; when the engine says it has no input
  (:class:`~app.errors.NodeInputError`) a dialog asks for it as JSON and the run
  is started again with ``node_input``.
* **Run up to here** (``stop_after``): the node and its upstream.
* **Pin output**: the shown run's output of the node becomes its pin (``ui.pins``,
  saved with the blueprint, outside its hash); **Pin output as JSON…** edits or
  types it; **Unpin** removes it. Runs from the window use pins (``use_pins``).
  Pinned nodes carry a pin mark on the canvas.
* **Disable / Enable node**: the node's ``disabled`` field (part of the hash); a
  disabled node is drawn dimmed, and runs pass its input through.
* **Simulate failure** (a submenu, :mod:`renderer.simulate_failure`): run with the
  node failing on purpose.

Every change goes through the document (undoable); nothing here writes the scene
except the pin marks, which mirror the model after each change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtGui import QAction, QKeySequence

from app.errors import NodeInputError
from app.output_handles import OutputHandle
from app.partial_runs import ancestors
from app.states import NodeStatus
from renderer.editor.model import UNSET
from renderer.json_dialog import ask_json
from renderer.simulate_failure import FailureSimulation

if TYPE_CHECKING:
    from renderer.main_window import MainWindow

#: Largest output (bytes) pinned from a run: pins are saved in the blueprint file.
PIN_LIMIT = 1024 * 1024
_NO_INPUT = (
    "Node {node!r} has no input: no run recorded its upstream's output and none is "
    "pinned. Type its input as JSON (with several upstreams: an object with a value "
    "per upstream id)."
)
_PIN_PROMPT = (
    "Runs started from the window use this value as the output of {node!r} instead of "
    "running it (n8n's pinned data). It is saved with the blueprint."
)


class NodeActions:
    """The per-node actions (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.run_node = self._action("Run this node", self.run_this_node, "Ctrl+Shift+E")
        self.run_node.setToolTip("Run only the selected node, on its upstream's last outputs")
        self.run_up_to = self._action("Run up to here", self.run_up_to_here, "Ctrl+Shift+U")
        self.run_up_to.setToolTip("Run the selected node and what it depends on, nothing after")
        self.pin = self._action("Pin output", self.pin_output)
        self.pin.setToolTip("Use the shown run's output of this node instead of running it")
        self.pin_json = self._action("Pin output as JSON…", self.pin_typed)
        self.unpin = self._action("Unpin output", self.unpin_output)
        self.toggle_disabled = self._action("Disable node", self.toggle_disable, "Ctrl+Shift+D")
        self.simulate = FailureSimulation(window, self._reused)
        document = window.document
        document.reset.connect(self._refresh)
        document.node_inserted.connect(self._refresh_node)
        document.node_changed.connect(self._refresh_node)
        document.node_renamed.connect(lambda index, _old, new: self._refresh_node(index, new))
        window.scene.selectionChanged.connect(self._refresh_actions)
        self._refresh()

    def _action(self, text: str, slot: Callable[[], object], shortcut: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    @property
    def actions(self) -> list[QAction]:
        return [
            self.run_node,
            self.run_up_to,
            self.pin,
            self.pin_json,
            self.unpin,
            self.toggle_disabled,
        ]

    # -- state ----------------------------------------------------------------------

    def _selected(self) -> str | None:
        selected = self.window.scene.selected_node_ids()
        return selected[0] if len(selected) == 1 else None

    def _refresh(self) -> None:
        """Every pin mark from the model (after a reset), and the actions."""
        pins = self.window.document.model.pins()
        for item in self.window.scene.node_items():
            item.set_pinned(item.node_id in pins)
        self._refresh_actions()

    def _refresh_node(self, _index: int, node_id: str) -> None:
        """One node's pin mark (it was added, changed, pinned or renamed), and the actions."""
        item = self.window.scene.node_item(node_id)
        if item is not None:
            item.set_pinned(node_id in self.window.document.model.pins())
        self._refresh_actions()

    def _refresh_actions(self) -> None:
        """Actions enabled for what is selected; Disable reads Enable on disabled nodes."""
        if not shiboken6.isValid(self.window.scene):
            return  # the window is being torn down (its scene tells of the last items)
        model = self.window.document.model
        pins = model.pins()
        one = self._selected()
        selected = self.window.scene.selected_node_ids()
        for action in (self.run_node, self.run_up_to, self.pin, self.pin_json):
            action.setEnabled(one is not None)
        self.unpin.setEnabled(one is not None and one in pins)
        self.toggle_disabled.setEnabled(bool(selected))
        present = [model.node(n) for n in selected if model.has_node(n)]
        enable = bool(present) and all(spec.disabled for spec in present)
        self.toggle_disabled.setText("Enable node" if enable else "Disable node")

    def _tell(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 8000)

    def _target(self, node_id: str | None, doing: str) -> str | None:
        node_id = node_id or self._selected()
        if node_id is None or not self.window.document.model.has_node(node_id):
            self._tell(f"Select one node to {doing}")
            return None
        return node_id

    # -- partial runs -----------------------------------------------------------------

    def _reused(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """``reuse_from`` the shown run of this blueprint (with its inputs), if any."""
        shown = self.window.runs.shown_run()
        if shown is None or shown[1].id != self.window.document.model.blueprint_id:
            return {}, None
        return {"reuse_from": shown[0]}, shown[2]

    def run_this_node(self, node_id: str | None = None) -> asyncio.Future[str | None] | None:
        """Run ``node_id`` (else the selected node) alone; the result is the execution id."""
        target = self._target(node_id, "run")
        if target is None:
            return None
        return self.window.bridge.submit(self._run_only(target), "run this node")

    async def _run_only(self, node_id: str) -> str | None:
        reuse, inputs = self._reused()
        config: dict[str, Any] = {"only": node_id, **reuse}
        self.window.scene.set_will_run([node_id])
        try:
            return await self.window.runs.run(config, inputs)
        except NodeInputError:
            asked, value = await ask_json(
                self.window, f"Input for {node_id}", _NO_INPUT.format(node=node_id)
            )
            if not asked:
                self.window.scene.set_will_run([])
                return None
            return await self.window.runs.run({**config, "node_input": value}, inputs)

    def run_up_to_here(self, node_id: str | None = None) -> asyncio.Future[str | None] | None:
        """Run ``node_id`` (else the selected node) and its upstream, nothing downstream."""
        target = self._target(node_id, "run up to")
        if target is None:
            return None
        blueprint = self.window.document.to_blueprint()
        pins = set(blueprint.ui.pins)
        self.window.scene.set_will_run((ancestors(blueprint, target) - pins) | {target})
        _reuse, inputs = self._reused()  # the shown run's inputs, so none are asked again
        return self.window.runs.run({"stop_after": target}, inputs)

    # -- pins -------------------------------------------------------------------------

    async def _shown_output(self, node_id: str) -> tuple[bool, Any]:
        """``(True, output)`` of the node in the shown run when it completed there and
        is small enough to keep in the blueprint file (:data:`PIN_LIMIT`); else
        ``(False, why)``."""
        missing = f"No output of {node_id!r} in the shown run: run it, or pin JSON"
        execution_id = self.window.runs.current
        view = self.window.bridge.model.execution(execution_id) if execution_id else None
        row = view.nodes.get(node_id) if view is not None else None
        if execution_id is None or row is None or row.status is not NodeStatus.COMPLETED:
            return False, missing
        if (row.output_size or 0) > PIN_LIMIT:
            return False, f"The output of {node_id!r} is too large to pin ({row.output_size} B)"
        result = await self.window.bridge.conductor.get_execution(execution_id)
        node = result.nodes.get(node_id)
        if node is None or node.status is not NodeStatus.COMPLETED:
            return False, missing
        if isinstance(node.output, OutputHandle) and node.output.is_stream:
            count = f"{node.output.count or 0:,}"
            return False, f"The output of {node_id!r} is a stream of {count} items: pin JSON"
        if isinstance(node.output, OutputHandle):  # over the result's inline limit
            size = node.output.size_bytes
            return False, f"The output of {node_id!r} is too large to pin ({size} B)"
        return True, node.output

    def pin_output(self, node_id: str | None = None) -> asyncio.Future[bool] | None:
        """Pin the node's output from the shown run; the result says whether it did."""
        target = self._target(node_id, "pin")
        if target is None:
            return None

        async def pin() -> bool:
            found, output = await self._shown_output(target)
            if not found:
                self._tell(output)
                return False
            self.window.document.set_pin(target, output)
            self._tell(f"Pinned the output of {target!r}")
            return True

        return self.window.bridge.submit(pin(), "pin output")

    def pin_typed(self, node_id: str | None = None) -> asyncio.Future[bool] | None:
        """Pin a value typed as JSON (starting from the pin, else the shown run's output)."""
        target = self._target(node_id, "pin")
        if target is None:
            return None

        async def pin() -> bool:
            pins = self.window.document.model.pins()
            if target in pins:
                initial = pins[target]
            else:
                found, output = await self._shown_output(target)
                initial = output if found else None
            asked, value = await ask_json(
                self.window, f"Pin output of {target}", _PIN_PROMPT.format(node=target), initial
            )
            if asked:
                self.window.document.set_pin(target, value)
            return asked

        return self.window.bridge.submit(pin(), "pin output")

    def unpin_output(self, node_id: str | None = None) -> None:
        target = self._target(node_id, "unpin")
        if target is not None and target in self.window.document.model.pins():
            self.window.document.set_pin(target, UNSET)

    # -- disable ----------------------------------------------------------------------

    def toggle_disable(self, node_ids: list[str] | None = None) -> None:
        """Disable the given (else selected) nodes, or enable them when all are disabled."""
        model, document = self.window.document.model, self.window.document
        chosen = [
            n for n in (node_ids or self.window.scene.selected_node_ids()) if model.has_node(n)
        ]
        if not chosen:
            self._tell("Select the nodes to disable or enable")
            return
        disable = not all(model.node(n).disabled for n in chosen)
        with document.macro(f"{'Disable' if disable else 'Enable'} {len(chosen)} node(s)"):
            for node_id in chosen:
                if model.node(node_id).disabled != disable:
                    document.set_disabled(node_id, disable)
        self._refresh()
