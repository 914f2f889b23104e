"""The ``conductor run`` flags of pinned outputs and partial runs.

Each flag is one key of the run's config (:class:`app.results.ExecutionConfig`),
so the CLI runs what the app and every transport run: ``--use-pins`` uses the
blueprint's ``ui.pins``; ``--only NODE`` runs one node, fed by the latest run's
recorded outputs, pins or ``--node-input``; ``--stop-after NODE`` runs a node and
its upstream; ``--start-at NODE`` runs from a node, reusing ``--reuse-from``'s (or
the latest run's) outputs. ``--inject NODE=FAULT`` (repeatable) makes a node fail on
purpose (:mod:`app.fault_injection`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from app.errors import ConfigError
from app.fault_injection import parse_inject_flag

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--use-pins", is_flag=True, help="Use the blueprint's pinned outputs (ui.pins)."),
    click.option("--only", metavar="NODE", help="Run this node alone (its upstream is reused)."),
    click.option("--stop-after", metavar="NODE", help="Run up to this node: it and its upstream."),
    click.option("--start-at", metavar="NODE", help="Run from this node, reusing the rest."),
    click.option("--reuse-from", metavar="EXECUTION", help="The execution whose outputs to reuse."),
    click.option(
        "--node-input", metavar="JSON", help="The --only node's input, when nothing records one."
    ),
    click.option(
        "--inject",
        multiple=True,
        metavar="NODE=FAULT",
        help="Make NODE fail on purpose: error, timeout or slow:SECONDS (repeatable).",
    ),
)


def run_options(command: F) -> F:
    """Add the partial-run flags to ``command`` (its function gets them as ``partial``)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def partial_config(
    *,
    use_pins: bool,
    only: str | None,
    stop_after: str | None,
    start_at: str | None,
    reuse_from: str | None,
    node_input: str | None,
    inject: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The config keys these flags set (none when none is given)."""
    config: dict[str, Any] = {}
    if use_pins:
        config["use_pins"] = True
    for key, value in (
        ("only", only),
        ("stop_after", stop_after),
        ("start_at", start_at),
        ("reuse_from", reuse_from),
    ):
        if value is not None:
            config[key] = value
    if node_input is not None:
        try:
            config["node_input"] = json.loads(node_input)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                where="--node-input",
            ) from None
    if inject:
        config["inject"] = dict(parse_inject_flag(value) for value in inject)
    return config
