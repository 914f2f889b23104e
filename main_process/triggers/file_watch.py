"""File triggers: a folder watched with ``watchfiles``, one fire per saved file.

``watchfiles`` groups the events of a moment into one batch (``step`` ms of quiet,
at most ``debounce`` ms); within a batch a path counts once (``created`` wins over
``modified``), and a path whose size and modification time are those it last fired
with is not fired again — so one save (open, truncate, write, close, often split
over batches) is one fire. Deletions fire nothing. The execution sees the file as
``{{ trigger.path }}`` and the change as ``{{ trigger.event }}``; a blueprint that
declares an input named ``path`` gets it there too.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from app.automation_spec import FileTrigger
from app.trigger_checks import resolve_folder
from main_process.triggers import firing

if TYPE_CHECKING:
    from main_process.engine.engine import Engine
    from main_process.triggers.catalog import Declared

log = logging.getLogger(__name__)

#: watchfiles' grouping: wait this long for quiet (ms), at most ``DEBOUNCE_MS``.
STEP_MS = 200
DEBOUNCE_MS = 1600


def matches(path: Path, folder: Path, spec: FileTrigger) -> bool:
    """Whether a changed file is one the trigger watches."""
    try:
        relative = path.relative_to(folder)
    except ValueError:
        return False
    if not spec.recursive and len(relative.parts) != 1:
        return False
    if "/" in spec.glob:
        return fnmatch.fnmatchcase(relative.as_posix(), spec.glob)
    return fnmatch.fnmatchcase(path.name, spec.glob)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


async def watch_files(
    engine: Engine, declared: Declared, spec: FileTrigger, stop: asyncio.Event
) -> None:
    """Fire ``spec`` for each matching file created or changed, until ``stop``."""
    from watchfiles import Change, awatch

    folder = resolve_folder(spec.folder, engine.home).resolve()
    kinds = {Change.added: "created", Change.modified: "modified"}
    fired: dict[str, tuple[int, int]] = {}
    wants_path = False
    try:
        blueprint = await engine.get_blueprint(declared.blueprint_id)
        wants_path = "path" in blueprint.inputs and "path" not in spec.inputs
    except Exception:  # the fire reports a blueprint that cannot start
        log.debug("trigger %s: blueprint not readable now", declared.id)
    async for changes in awatch(
        folder,
        recursive=spec.recursive,
        step=STEP_MS,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
    ):
        batch: dict[str, str] = {}
        for change, raw in changes:
            kind = kinds.get(change)
            if kind is None or batch.get(raw) == "created":
                continue
            batch[raw] = kind
        for raw, kind in sorted(batch.items()):
            path = Path(raw)
            if kind not in spec.events or not path.is_file() or not matches(path, folder, spec):
                continue
            signature = _signature(path)
            if signature is None or fired.get(raw) == signature:
                continue
            fired[raw] = signature
            await firing.fire(
                engine,
                declared.blueprint_id,
                spec,
                context={"path": str(path), "event": kind},
                inputs={"path": str(path)} if wants_path else None,
            )
