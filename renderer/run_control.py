"""Running from the window: validate, ask inputs, start, watch, pause, cancel, resume.

Separate from the window's layout so the run rules read in one place:

* **Validate first**: problems go to the document and the problems list, and an
  invalid blueprint never starts.
* **One shown execution**: several may run; the monitor and the canvas badges show
  the one chosen in the monitor's picker (a new run is chosen automatically).
* **Node data**: the Data tab pages a node's output (see :mod:`renderer.node_data`;
  a debug run's input too).
* **Dirty markers**: nodes whose definition changed since the shown run (compared
  with the blueprint that run was started with) are marked on the canvas, and the
  marks follow every edit, undo and redo.
* **Pins**: every run started here is a manual run, so it uses the blueprint's
  pinned outputs (``use_pins``); a node that ended without running shows why
  (pinned, disabled, not in run) in place of its duration.
* **One press, one run**: a second press of the same Run while the first is still
  starting, or within the double-click interval while its run is live, is the same
  press (a double-click on Run once started the blueprint twice).
* **Pause**: Pause is enabled while the shown execution runs; a paused execution
  starts no new node and stays followed, and Resume continues it in place.
* **Crash**: when the worker dies, a banner says so at once; the bridge marks the
  followed executions interrupted and re-reads them after the restart; Resume
  resumes the shown (or latest) interrupted one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QDialog

from app.blueprint import Blueprint
from app.partial_runs import dirty_nodes, nodes_to_run
from app.results import ExecutionResult
from app.states import ExecutionStatus, NodeStatus
from renderer.canvas.state_badge import reason_label, shown_state
from renderer.json_dialog import dialog_result
from renderer.monitor.monitor_model import ExecutionView
from renderer.monitor.time_travel import TimeTravel
from renderer.node_data import NodeData
from renderer.past_runs import open_execution
from renderer.run_dialog import RunDialog
from renderer.run_presses import RunPresses
from renderer.subflow_monitor import SubflowMonitor
from renderer.wire_counts import clear_wire_counts, show_stream_progress, show_wire_counts

if TYPE_CHECKING:
    from renderer.actions import Actions
    from renderer.main_window import MainWindow

#: What Resume may act on: a paused execution continues in place, the others re-run
#: the nodes that did not complete.
_RESUMABLE = frozenset(
    {
        ExecutionStatus.PAUSED,
        ExecutionStatus.INTERRUPTED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
    }
)


class RunControl:
    """The window's run behaviour (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.bridge = window.bridge
        self.current: str | None = None
        self.crashed = False
        self._runs: dict[str, tuple[Blueprint, dict[str, Any]]] = {}
        #: Tells a repeated Run press (a double-click) from a new one.
        self.presses = RunPresses(self.bridge.model)
        #: The Data tab's node data (output pages, error, a debug run's input).
        self.data = NodeData(window)
        #: The nodes marked dirty on the canvas (see :meth:`refresh_dirty`).
        self.dirty: set[str] = set()
        self.bridge.execution_started.connect(self._started)
        self.bridge.execution_updated.connect(self._updated)
        self.bridge.execution_finished.connect(self._finished)
        window.monitor.execution_chosen.connect(self.show_execution)
        window.monitor.node_data_requested.connect(self.show_node_data)
        window.monitor.execution_link_requested.connect(self.open_execution)
        #: The scrubber over the shown execution's recorded events.
        self.travel = TimeTravel(
            window.monitor.time_travel_bar,
            lambda eid, after, limit: self.bridge.conductor.event_page(
                eid, after_seq=after, limit=limit
            ),
            self._paint_states,
            lambda: self._paint(self.bridge.model.execution(self.current or "")),
        )
        #: The selected loop node's iterations, the selected call node's child run.
        self.subflows = SubflowMonitor(self)
        window.document.edited.connect(self.refresh_dirty)
        window.document.reset.connect(self._reopened)
        window.document.reset.connect(window.monitor.data_view.clear)
        for signal in (window.document.edited, window.document.reset):
            signal.connect(self.update_actions)

    # -- starting -------------------------------------------------------------------

    def run(
        self, config: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None
    ) -> asyncio.Future[str | None]:
        """Validate and start the document's blueprint; the result is the id (None: not run).

        A repeat of the previous press (see :class:`RunPresses`) starts nothing and
        returns the previous press's result.
        """
        config = config or {}
        blueprint = self.window.document.to_blueprint()
        repeat = self.presses.repeat_of((blueprint, config))
        if repeat is not None:
            return repeat
        started = self.bridge.submit(self._run(blueprint, config, inputs), "run")
        self.presses.pressed((blueprint, config), started)
        return started

    async def _run(
        self, blueprint: Blueprint, config: dict[str, Any], inputs: dict[str, Any] | None
    ) -> str | None:
        problems = await self.bridge.conductor.validate(blueprint)
        self.window.show_problems(problems)
        if problems:
            self.window.statusBar().showMessage(
                f"Not run: the blueprint has {len(problems)} problem(s)", 10000
            )
            self.window.scene.set_will_run([])
            return None
        if inputs is None:
            inputs = await self._ask_inputs(blueprint) if blueprint.inputs else {}
            if inputs is None:
                return None
        self.window.scene.clear_states()
        clear_wire_counts(self.window.scene)
        config = {"use_pins": True, **config}
        self.window.monitor.data_view.clear()
        execution_id = await self.bridge.run(blueprint, inputs, config)
        self._runs[execution_id] = (blueprint, inputs)
        if config.get("debug_mode"):
            self.data.debug.add(execution_id)
        self.refresh_dirty()
        return execution_id

    async def _ask_inputs(self, blueprint: Blueprint) -> dict[str, Any] | None:
        dialog = RunDialog(blueprint.inputs, self.window)
        code = await dialog_result(dialog)
        return dialog.values() if code == QDialog.DialogCode.Accepted else None

    def run_from_here(self, node_id: str | None = None) -> asyncio.Future[str | None] | None:
        """Run the selected node and its downstream, reusing the shown execution's outputs."""
        selected = self.window.scene.selected_node_ids()
        node_id = node_id or (selected[0] if selected else None)
        if node_id is None:
            self.window.statusBar().showMessage("Select the node to run from", 5000)
            return None
        config: dict[str, Any] = {"start_at": node_id}
        current = self.window.document.to_blueprint()
        # Reuse the shown run only when it ran this blueprint. Another blueprint's run
        # lent nothing that matched (every node ran again, the HTTP call too) or
        # failed oddly; without it the engine takes this blueprint's latest run.
        shown = self._runs.get(self.current) if self.current is not None else None
        previous = self.current if shown is not None and shown[0].id == current.id else None
        if previous is not None:
            config["reuse_from"] = previous
            view = self.bridge.model.execution(previous)
            completed = {
                row.node_id: True
                for row in (view.nodes.values() if view else [])
                if row.status is NodeStatus.COMPLETED
            }
            will_run = nodes_to_run(current, self._runs[previous][0], completed, node_id)
        else:  # what runs depends on a run only the engine knows: mark nothing, say why
            will_run = set()
            self.window.statusBar().showMessage(
                f"Run from here: no run of {current.id} is shown, so no node is marked; "
                "the engine reuses its latest finished run (run it whole first if none)",
                10000,
            )
        self.window.scene.set_will_run(will_run)
        inputs = self._runs[previous][1] if previous is not None else None
        return self.run(config, inputs)

    def shown_run(self) -> tuple[str, Blueprint, dict[str, Any]] | None:
        """The shown execution, when started or opened here: its id, blueprint and inputs."""
        if self.current is None or self.current not in self._runs:
            return None
        blueprint, inputs = self._runs[self.current]
        return self.current, blueprint, inputs

    def rerun(self) -> asyncio.Future[str | None] | None:
        """Run the shown execution's blueprint again with the same inputs."""
        if self.current is None or self.current not in self._runs:
            return self.run()
        blueprint, inputs = self._runs[self.current]
        return self.bridge.submit(self._run(blueprint, {}, inputs), "re-run")

    def cancel(self) -> asyncio.Future[bool] | None:
        return self.bridge.cancel(self.current) if self.current else None

    def pause(self) -> asyncio.Future[bool] | None:
        """Pause the shown execution (no new node starts; Resume continues it)."""
        return self.bridge.pause(self.current) if self.current else None

    def resume(self, execution_id: str | None = None) -> asyncio.Future[None] | None:
        """Resume ``execution_id``, else the shown execution, else the latest interrupted one."""
        target = execution_id or self._resumable()
        if target is None:
            self.window.statusBar().showMessage("Nothing to resume", 5000)
            return None
        self.crashed = False
        self.window.crash_banner.hide()
        return self.bridge.resume(target)

    def _resume_clicked(self) -> None:
        self.resume()

    def _resumable(self) -> str | None:
        view = self.bridge.model.execution(self.current) if self.current else None
        if view is not None and view.status in _RESUMABLE:
            return view.execution_id
        for execution_id in reversed(list(self._runs)):
            found = self.bridge.model.execution(execution_id)
            if found is not None and found.status is ExecutionStatus.INTERRUPTED:
                return execution_id
        return None

    def update_actions(self, commands: Actions | None = None) -> None:
        """Enable only what can act now: Run and Run from here with a ready worker and
        something to run (a node; a selected one), Cancel and Pause while the shown
        execution runs, Resume when it (or a crashed run) can be resumed, Re-run once
        there is something to repeat. (They were never disabled: Cancel with nothing
        running did nothing, silently.)"""
        commands = commands or getattr(self.window, "commands", None)
        if commands is None:
            return
        ready = self.bridge.worker_state == "ready"
        has_nodes = bool(self.window.document.model.node_ids())
        view = self.bridge.model.execution(self.current) if self.current else None
        live = view is not None and not view.status.is_terminal
        running = view is not None and view.status is ExecutionStatus.RUNNING
        selected = len(self.window.scene.selected_node_ids()) == 1
        enabled = {
            commands.run: ready and has_nodes,
            commands.run_debug: ready and has_nodes,
            commands.run_from_here: ready and selected,
            commands.rerun: ready and (has_nodes or self.current in self._runs),
            commands.cancel: live,
            commands.pause: running,
            commands.resume: ready and not running and self._resumable() is not None,
        }
        for action, on in enabled.items():
            action.setEnabled(on)

    # -- watching -------------------------------------------------------------------

    def _started(self, execution_id: str) -> None:
        view = self.bridge.model.ensure(execution_id)
        self.window.monitor.add_execution(
            execution_id, f"{view.blueprint_id or 'execution'} · {execution_id[:8]}"
        )
        self.show_execution(execution_id)

    def show_execution(self, execution_id: str) -> None:
        if execution_id != self.current:
            self.window.monitor.data_view.clear()  # another execution's data
        self.current = execution_id
        self.subflows.execution_shown(execution_id)
        view = self.bridge.model.execution(execution_id)
        if view is not None:
            model = self.window.document.model
            same = view.blueprint_id == model.blueprint_id
            live = None if view.status.is_terminal else view.last_seq
            nodes = model.node_ids() if same else []
            self.travel.attach(execution_id, view.blueprint_id, nodes, live_seq=live)
            if not same:  # another blueprint's run: the canvas must not keep old badges
                self.window.scene.clear_states()
                clear_wire_counts(self.window.scene)
        self._paint(view)
        self.refresh_dirty()

    def _reopened(self) -> None:
        """A blueprint was opened: its nodes show the shown run's states when that run
        is of this blueprint, else no badge (they all said "not run" while the monitor
        still showed this blueprint's last run)."""
        self.window.scene.clear_states()
        if self.current is not None:
            self.show_execution(self.current)  # paints and re-marks the dirty nodes
        else:
            self.refresh_dirty()

    def refresh_dirty(self) -> None:
        """Mark the nodes changed since the shown run (none when it is not this blueprint's)."""
        run = self._runs.get(self.current) if self.current is not None else None
        current = self.window.document.to_blueprint()
        dirty = dirty_nodes(current, run[0]) if run and run[0].id == current.id else set()
        self.dirty = dirty
        self.window.scene.set_dirty_nodes(dirty)  # always: a reset rebuilt the node items

    def _updated(self, execution_id: str) -> None:
        if execution_id == self.current and not self.travel.active:
            view = self.bridge.model.execution(execution_id)
            self._paint(view)
            if view is not None:
                self.travel.note_live(view.last_seq)

    def _paint(self, view: ExecutionView | None) -> None:
        self._paint_states(view)
        self.update_actions()

    def _paint_states(self, view: ExecutionView | None) -> None:
        """The monitor and the canvas badges from ``view`` (live, or a replayed moment)."""
        self.window.monitor.show_execution(view)
        if view is None or view.blueprint_id != self.window.document.model.blueprint_id:
            return
        scene = self.window.scene
        interrupted = view.status is ExecutionStatus.INTERRUPTED
        ended = view.status.is_terminal
        for row in view.nodes.values():
            duration = row.duration
            detail = f"{duration * 1000:.0f} ms" if duration is not None else ""
            detail = reason_label(row.reason) or detail
            state = shown_state(
                row.status, interrupted=interrupted, ended=ended, started=row.started
            )
            scene.set_node_state(row.node_id, state.value, row.attempts, detail)
        if not ended:
            show_stream_progress(scene, view)

    def _finished(self, execution_id: str, result: object) -> None:
        if execution_id == self.current:
            self.travel.index_now()  # the log is complete: read it for the scrubber
            self.bridge.submit(show_wire_counts(self.window, execution_id), "wire counts")
        if isinstance(result, ExecutionResult) and execution_id == self.current:
            self.window.scene.set_will_run([])
            self.window.statusBar().showMessage(
                f"Execution {execution_id[:8]} {result.status.value}", 10000
            )

    def show_node_data(self, execution_id: str, node_id: str) -> asyncio.Future[None]:
        return self.data.show(execution_id, node_id)

    def canvas_selection_changed(self, node_ids: list[str]) -> None:
        self.update_actions()
        if len(node_ids) == 1 and self.current is not None:
            self.window.monitor.select_node(node_ids[0])

    def open_execution(self, execution_id: str) -> asyncio.Future[None]:
        """Show a past execution (see :func:`renderer.past_runs.open_execution`)."""
        return self.bridge.submit(open_execution(self, execution_id), "open execution")

    def show_past(self, execution_id: str, result: ExecutionResult, ran: Blueprint) -> None:
        """Follow a past execution's recorded result as the shown one."""
        self._runs.setdefault(execution_id, (ran, result.inputs))  # dirty marks, re-run
        if any(node.input is not None for node in result.nodes.values()):
            self.data.debug.add(execution_id)  # recorded in debug mode
        self.bridge.model.load_result(result)
        self.bridge.load_past_log(execution_id, result.last_seq or 0)
        self._started(execution_id)
        if result.status is ExecutionStatus.INTERRUPTED:
            self.window.crash_banner.show_message(
                f"Execution {execution_id[:8]} was interrupted.",
                {"Resume": self._resume_clicked},
            )

    # -- worker ---------------------------------------------------------------------

    def worker_state_changed(self, state: str, detail: str) -> None:
        self.update_actions()
        banner = self.window.crash_banner
        if state == "dead" and not self.bridge.signalsBlocked():
            self.crashed = True
            banner.show_message(
                "The worker stopped unexpectedly — restarting…", {"Resume": self._resume_clicked}
            )
        elif state == "ready" and self.crashed:
            banner.set_text("The worker stopped unexpectedly — restarted. Resume the run?")
        elif state == "gave_up":
            banner.show_message(
                f"The worker keeps stopping ({detail}) — gave up restarting it.", {}
            )
