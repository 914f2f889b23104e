"""What makes a trigger unusable, found before anything runs.

Each problem is named ``triggers[<name>].<field>``: a cron expression that does not
parse, an unknown time zone, both or neither of ``cron`` and ``every``, a glob that
is empty or leaves its folder, a duplicate name, an input the blueprint does not
declare. These are checked with every
blueprint validation. Whether a file trigger's folder exists depends on the machine
that runs it, not on the file, so :func:`folder_problem` is asked by the runtime
when it arms the trigger (the trigger then lists that error and does not fire)
rather than making the blueprint invalid everywhere.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.automation_spec import FileTrigger, ScheduleTrigger
from app.blueprint import Blueprint
from app.errors import Problem


def _where(name: str, field: str) -> str:
    return f"triggers[{name}].{field}"


def trigger_problems(blueprint: Blueprint) -> list[Problem]:
    """Every trigger problem of ``blueprint`` (empty when its triggers can run)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for spec in blueprint.triggers:
        if spec.name in seen:
            problems.append(
                Problem(
                    where=_where(spec.name, "name"),
                    message=f"duplicate trigger name {spec.name!r}",
                    code="trigger",
                )
            )
        seen.add(spec.name)
        if blueprint.inputs:
            for key in spec.inputs:
                if key not in blueprint.inputs:
                    declared = ", ".join(blueprint.inputs)
                    problems.append(
                        Problem(
                            where=_where(spec.name, f"inputs.{key}"),
                            message=f"unknown input {key!r} (declared: {declared})",
                            code="trigger",
                        )
                    )
        if isinstance(spec, ScheduleTrigger):
            problems.extend(schedule_problems(spec))
        elif isinstance(spec, FileTrigger):
            problems.extend(glob_problems(spec))
    return problems


def schedule_problems(spec: ScheduleTrigger) -> list[Problem]:
    found: list[Problem] = []
    if (spec.cron is None) == (spec.every is None):
        found.append(
            Problem(
                where=_where(spec.name, "cron"),
                message="give exactly one of 'cron' and 'every'",
                code="trigger",
            )
        )
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(
            Problem(
                where=_where(spec.name, "timezone"),
                message=f"unknown time zone {spec.timezone!r} (an IANA name such as "
                "'Europe/Paris' or 'UTC')",
                code="trigger",
            )
        )
    if spec.cron is not None:
        from croniter import croniter

        if not croniter.is_valid(spec.cron):
            found.append(
                Problem(
                    where=_where(spec.name, "cron"),
                    message=f"invalid cron expression {spec.cron!r} (five fields: minute hour "
                    "day-of-month month day-of-week)",
                    code="trigger",
                )
            )
    return found


def glob_problems(spec: FileTrigger) -> list[Problem]:
    glob = spec.glob
    why: str | None = None
    if not glob.strip():
        why = "the glob is empty"
    elif "\x00" in glob:
        why = "the glob holds a NUL character"
    elif glob.startswith(("/", "\\")) or ".." in PurePosixPath(glob).parts:
        why = "the glob must stay inside the folder (no leading '/', no '..')"
    elif glob.count("[") != glob.count("]"):
        why = "unbalanced '[' in the glob"
    problems = []
    if why is not None:
        problems.append(Problem(where=_where(spec.name, "glob"), message=why, code="trigger"))
    if not spec.folder.strip():
        problems.append(
            Problem(
                where=_where(spec.name, "folder"), message="the folder is empty", code="trigger"
            )
        )
    return problems


def resolve_folder(folder: str, home: Path) -> Path:
    """A file trigger's folder: ``~`` expanded; a relative one is under the data dir."""
    path = Path(folder).expanduser()
    return path if path.is_absolute() else home / path


def folder_problem(spec: FileTrigger, home: Path) -> Problem | None:
    """The problem with a file trigger's folder on this machine, if any."""
    path = resolve_folder(spec.folder, home)
    if not path.is_dir():
        return Problem(
            where=_where(spec.name, "folder"),
            message=f"folder {str(path)!r} does not exist or is not a folder",
            code="trigger",
        )
    return None
