"""The global ``--dask-scheduler`` and ``--dask-upload`` options of ``conductor``.

They reach the engine wherever the command starts one (a run, ``serve``, the desktop
app's worker process) as ``$CONDUCTOR_DASK_SCHEDULER`` / ``$CONDUCTOR_DASK_UPLOAD``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def dask_options(fn: F) -> F:
    """Add both options to a click command."""
    fn = click.option(
        "--dask-upload",
        multiple=True,
        metavar="FILE",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="A .py/.zip/.egg file sent to the Dask workers with Client.upload_file "
        "(repeatable; for modules not installed there).",
    )(fn)
    return click.option(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="Run 'runner: dask' nodes on the Dask cluster at ADDRESS (tcp://host:8786; "
        "default: $CONDUCTOR_DASK_SCHEDULER).",
    )(fn)


def export_dask(scheduler: str | None, uploads: tuple[Path, ...]) -> None:
    """Hand the options to every engine this command starts (child processes too)."""
    if scheduler:
        os.environ["CONDUCTOR_DASK_SCHEDULER"] = scheduler
    if uploads:
        os.environ["CONDUCTOR_DASK_UPLOAD"] = os.pathsep.join(str(p.resolve()) for p in uploads)
