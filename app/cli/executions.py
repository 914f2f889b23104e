"""Commands about recorded executions: ``pause``, ``cancel``, ``history``, ``show``,
``output``."""

from __future__ import annotations

import sys
from typing import Literal, NoReturn

import click
from click.core import ParameterSource

from app.cli import output
from app.cli.common import EXIT_FAILED, EXIT_OK, call, json_option, options_of
from app.states import ExecutionStatus


def _control(
    ctx: click.Context, action: Literal["pause", "cancel"], execution_id: str, json_mode: bool
) -> NoReturn:
    """``pause`` or ``cancel`` one execution; exit 0 when it took effect, 1 when the
    execution was not in a state to take it (its status says why).

    The JSON document mirrors the HTTP API's answer (``{"paused": true}``,
    ``{"cancelled": true}``) plus the id and the status right after."""
    from app.cli import session

    options = options_of(ctx)
    done, result = call(
        options, session.control(action, execution_id, options), json_mode=json_mode
    )
    aim = ExecutionStatus.PAUSED if action == "pause" else ExecutionStatus.CANCELLED
    status = result.status.value
    if json_mode:
        output.print_json({"execution_id": execution_id, aim.value: done, "status": status})
    elif done:
        click.echo(f"{execution_id}: {action} requested; status {status}", err=True)
    else:
        click.echo(f"{execution_id}: not {aim.value}; its status is {status}", err=True)
    sys.exit(EXIT_OK if done else EXIT_FAILED)


@click.command()
@click.argument("execution_id")
@json_option
@click.pass_context
def pause(ctx: click.Context, execution_id: str, json_mode: bool) -> None:
    """Pause a running execution: no new node starts, running ones finish.

    'conductor resume ID' continues it. Exit 0 when paused, 1 when it was not running.
    """
    _control(ctx, "pause", execution_id, json_mode)


@click.command()
@click.argument("execution_id")
@json_option
@click.pass_context
def cancel(ctx: click.Context, execution_id: str, json_mode: bool) -> None:
    """Cancel a running, pending or paused execution.

    Exit 0 when asked to stop, 1 when it had already ended.
    """
    _control(ctx, "cancel", execution_id, json_mode)


@click.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--status",
    type=click.Choice([status.value for status in ExecutionStatus]),
)
@click.option("--blueprint", "blueprint_id", metavar="ID", help="Only this blueprint's runs.")
@json_option
@click.pass_context
def history(
    ctx: click.Context, limit: int, status: str | None, blueprint_id: str | None, json_mode: bool
) -> None:
    """List recent executions, newest first."""
    from app.cli import session

    options = options_of(ctx)
    rows = call(
        options,
        session.history(options, limit=limit, status=status, blueprint_id=blueprint_id),
        json_mode=json_mode,
    )
    if json_mode:
        output.print_json([r.model_dump(mode="json") for r in rows])
    elif rows:
        click.echo(output.history_table(rows))
    else:
        click.echo("no executions recorded yet", err=True)


@click.command()
@click.argument("execution_id")
@json_option
@click.pass_context
def show(ctx: click.Context, execution_id: str, json_mode: bool) -> None:
    """Show one execution with a table of its nodes, its parent and child executions
    (sub-blueprints) and its loops' iteration counts."""
    from app.cli import session

    options = options_of(ctx)
    result, links = call(
        options, session.get_execution_links(execution_id, options), json_mode=json_mode
    )
    if json_mode:
        output.print_json(
            {**result.model_dump(mode="json"), "links": links.model_dump(mode="json")}
        )
    else:
        click.echo(output.execution_text(result))
        extra = output.links_text(links)
        if extra:
            click.echo(extra)


@click.command("output")
@click.argument("execution_id")
@click.argument("node_id", required=False, default="")
@click.option("--offset", type=click.IntRange(0), default=None, help="Print only this page.")
@click.option("--limit", type=click.IntRange(0, 10_000), default=100, show_default=True)
@click.pass_context
def output_command(
    ctx: click.Context, execution_id: str, node_id: str, offset: int | None, limit: int
) -> None:
    """Print a node's recorded output, or with no NODE the execution's outputs, as JSON.

    Read page by page (what 'conductor run' shows as a handle when it is over the
    inline limit); with --offset or --limit only that page (items, total) is printed.
    """
    from app.cli import session

    options = options_of(ctx)
    if offset is None and ctx.get_parameter_source("limit") is not ParameterSource.DEFAULT:
        offset = 0  # "--limit 3" alone meant the first three, not pages of three
    page = None if offset is None else (offset, limit)
    call(options, session.write_output(execution_id, node_id, page, options))
