"""Which triggers exist: those declared by the blueprints in the data dir's
``blueprints/`` folder (bundled examples' triggers never run: copy an example
there to use its triggers).

A blueprint file that cannot be read declares nothing; a trigger with a problem
(:func:`app.trigger_checks.trigger_problems`, or a file trigger's missing folder)
is listed with that problem as its error and is not armed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from app.automation_spec import FileTrigger, ScheduleTrigger, TriggerSpec, trigger_id
from app.blueprint_files import load_blueprint_file
from app.errors import BlueprintError
from app.trigger_checks import folder_problem, trigger_problems
from main_process.triggers.schedule import describe as describe_schedule

_SUFFIXES = (".json", ".yaml", ".yml")


class Declared(NamedTuple):
    """One trigger as a blueprint declares it."""

    id: str
    blueprint_id: str
    spec: TriggerSpec
    error: str | None


def folder_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a blueprint file is added, changed or removed."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return ()
    found = []
    for entry in entries:
        if not entry.name.endswith(_SUFFIXES):
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        found.append((entry.name, st.st_mtime_ns, st.st_size))
    return tuple(sorted(found))


def declared_triggers(folder: Path, home: Path) -> list[Declared]:
    """Every trigger of the blueprints in ``folder`` (a user's ``blueprints/``), by id;
    a blueprint shadowed by another format of the same id counts once (json first)."""
    result: list[Declared] = []
    seen: set[str] = set()
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return result
    for suffix in _SUFFIXES:
        for name in names:
            if not name.endswith(suffix):
                continue
            blueprint_id = name[: -len(suffix)]
            if blueprint_id in seen:
                continue
            seen.add(blueprint_id)
            try:
                blueprint = load_blueprint_file(folder / name)
            except (BlueprintError, OSError):
                continue
            problems: dict[str, str] = {}
            for problem in trigger_problems(blueprint):
                name_part = problem.where.split("]", 1)[0].removeprefix("triggers[")
                problems.setdefault(name_part, str(problem))
            for spec in blueprint.triggers:
                error = problems.get(spec.name)
                if error is None and isinstance(spec, FileTrigger):
                    missing = folder_problem(spec, home)
                    error = None if missing is None else str(missing)
                result.append(
                    Declared(trigger_id(blueprint_id, spec.name), blueprint_id, spec, error)
                )
    return result


def describe(spec: TriggerSpec) -> str:
    """What a trigger fires on, in words."""
    if isinstance(spec, ScheduleTrigger):
        return describe_schedule(spec)
    if isinstance(spec, FileTrigger):
        where = "under" if spec.recursive else "in"
        return f"{', '.join(spec.events)} {spec.glob} {where} {spec.folder}"
    return f"{', '.join(spec.methods)} /v1/hooks/<blueprint>/{spec.path or spec.name}"
