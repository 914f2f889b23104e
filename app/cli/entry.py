"""The ``conductor`` console script's entry (and ``python -m app``'s): the commands
imported with the garbage collector paused (:mod:`app.gc_pause`), then run."""

from __future__ import annotations

from app.gc_pause import collector_paused


def main() -> None:
    """Import the command line, then run it with the arguments of this process."""
    with collector_paused(freeze=True):
        from app.cli.main import main as run_command_line
    run_command_line()
