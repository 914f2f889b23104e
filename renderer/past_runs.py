"""Opening a past execution from History: the exact blueprint it ran, its final states.

Not whatever the library holds under that id now: every execution records the
blueprint it ran (``execution_blueprint``). The open document stays when it is that
blueprint already; a document with unsaved edits is never replaced (the run then
shows in the monitor only); the library file is attached only when it still holds
what ran, so Save never overwrites a newer file with an old run's blueprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.blueprint import Blueprint
from app.blueprint_files import load_blueprint_file
from app.errors import ConductorError

if TYPE_CHECKING:
    from renderer.run_control import RunControl


async def open_execution(runs: RunControl, execution_id: str) -> None:
    """Show ``execution_id`` on the canvas and in the monitor (see the module docs)."""
    window = runs.window
    conductor = runs.bridge.conductor
    result = await conductor.get_execution(execution_id)
    ran = await conductor.execution_blueprint(execution_id)
    document = window.document
    current = document.to_blueprint()
    same = current.id == ran.id and current.engine_json() == ran.engine_json()
    if not same and document.is_dirty:
        window.statusBar().showMessage(
            "Save or discard your changes before opening another blueprint", 8000
        )
    elif not same:
        document.load(ran, file_holding(runs, ran))
        window.view.fit_to_view()
    if same or not document.is_dirty:
        window.scene.clear_states()
    runs.show_past(execution_id, result, ran)


def file_holding(runs: RunControl, ran: Blueprint) -> Path | None:
    """The library file of ``ran``'s id when it holds what ran (so Save writes it),
    else None: the run's blueprint opens unsaved, and the file stays as it is."""
    path = runs.window.library_control.user_file(ran.id)
    try:
        same = path is not None and load_blueprint_file(path).engine_json() == ran.engine_json()
    except ConductorError:
        same = False
    return path if same else None
