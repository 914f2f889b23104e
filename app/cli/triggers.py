"""``conductor triggers``: list triggers, change their state, fire one now, and
review the held fires of suspended triggers.

Works in-process on the data dir (a running ``conductor serve`` or app worker sees
a state change within a second) or, with ``--remote``, on a server. ``fire`` in
process runs the execution here and waits for it (this process's engine would
otherwise interrupt it on exit); over ``--remote`` it returns at once.
Exit codes: 0 done, 1 a fired execution did not complete, 2 bad usage (an unknown
trigger id).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from app.cli import output
from app.cli.common import EXIT_FAILED, EXIT_OK, call, json_option, options_of
from app.triggers import FireOutcome, HeldAction, TriggerState

if TYPE_CHECKING:
    from app.api import Conductor
    from app.cli.session import Options
    from app.triggers import FireInfo, TriggerInfo


async def _with(options: Options, work: Any) -> Any:
    from app.cli.session import open_conductor

    conductor = open_conductor(options)
    try:
        return await work(conductor)
    finally:
        await conductor.close()


def _table(rows: list[TriggerInfo]) -> str:
    cells = []
    for t in rows:
        last = "-"
        if t.last_outcome is not None:
            last = f"{output.time_text(t.last_fire_at)} {t.last_status or t.last_outcome.value}"
        state = t.state.value if t.error is None else f"{t.state.value} (error)"
        cells.append(
            [
                t.id,
                t.kind,
                state,
                output.time_text(t.next_fire_at),
                last,
                t.error or t.describe,
            ]
        )
    return output.table(["TRIGGER", "KIND", "STATE", "NEXT FIRE", "LAST RUN", "ON"], cells)


@click.group(invoke_without_command=True)
@click.pass_context
def triggers(ctx: click.Context) -> None:
    """Triggers of the data dir's blueprints (schedules, file watches, webhooks)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_triggers)


@triggers.command("list")
@json_option
@click.pass_context
def list_triggers(ctx: click.Context, json_mode: bool = False) -> None:
    """List triggers: id, kind, state, next fire, last run."""
    options = options_of(ctx)

    async def work(c: Conductor) -> list[TriggerInfo]:
        return await c.triggers.list()

    rows = call(options, _with(options, work), json_mode=json_mode)
    if json_mode:
        output.print_json([t.model_dump(mode="json") for t in rows])
    elif rows:
        click.echo(_table(rows))
    else:
        click.echo("no triggers in this data dir's blueprints/", err=True)


def _set_state(ctx: click.Context, trigger_id: str, state: TriggerState, json_mode: bool) -> None:
    options = options_of(ctx)

    async def work(c: Conductor) -> TriggerInfo:
        return await c.triggers.set_state(trigger_id, state)

    info = call(options, _with(options, work), json_mode=json_mode)
    if json_mode:
        output.print_json(info.model_dump(mode="json"))
    else:
        click.echo(f"{info.id}: {info.state.value}")


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@json_option
@click.pass_context
def enable(ctx: click.Context, trigger_id: str, json_mode: bool) -> None:
    """Let a trigger fire (ID is <blueprint_id>:<name>)."""
    _set_state(ctx, trigger_id, TriggerState.ENABLED, json_mode)


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@json_option
@click.pass_context
def disable(ctx: click.Context, trigger_id: str, json_mode: bool) -> None:
    """Stop a trigger firing; what it would fire is not kept."""
    _set_state(ctx, trigger_id, TriggerState.DISABLED, json_mode)


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@json_option
@click.pass_context
def suspend(ctx: click.Context, trigger_id: str, json_mode: bool) -> None:
    """Keep a trigger's fires as held fires, for review ('conductor triggers held')."""
    _set_state(ctx, trigger_id, TriggerState.SUSPENDED, json_mode)


def _fire_text(fired: FireInfo) -> str:
    text = f"{fired.trigger_id}: {fired.outcome.value}"
    if fired.execution_id:
        text += f" execution {fired.execution_id}"
    if fired.detail:
        text += f" ({fired.detail})"
    return text


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@json_option
@click.pass_context
def fire(ctx: click.Context, trigger_id: str, json_mode: bool) -> None:
    """Fire a trigger now, whatever its state; exit 1 when its execution fails."""
    options = options_of(ctx)

    async def work(c: Conductor) -> tuple[FireInfo, bool]:
        fired = await c.triggers.fire(trigger_id)
        if fired.execution_id is None:
            return fired, fired.outcome is not FireOutcome.FAILED
        if options.remote:
            return fired, True
        return fired, (await c.wait(fired.execution_id)).success

    fired, ok = call(options, _with(options, work), json_mode=json_mode)
    if json_mode:
        output.print_json(fired.model_dump(mode="json"))
    else:
        click.echo(_fire_text(fired))
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


@triggers.command()
@click.argument("trigger_id", metavar="[ID]", required=False)
@json_option
@click.pass_context
def held(ctx: click.Context, trigger_id: str | None, json_mode: bool) -> None:
    """List held fires (of one trigger when ID is given)."""
    options = options_of(ctx)

    async def work(c: Conductor) -> Any:
        return await c.triggers.held(trigger_id)

    rows = call(options, _with(options, work), json_mode=json_mode)
    if json_mode:
        output.print_json([h.model_dump(mode="json") for h in rows])
        return
    click.echo(
        output.table(
            ["HELD", "TRIGGER", "SCHEDULED", "HELD AT"],
            [
                [
                    str(h.id),
                    h.trigger_id,
                    output.time_text(h.scheduled_at),
                    output.time_text(h.held_at),
                ]
                for h in rows
            ],
        )
    )


def _settle(ctx: click.Context, held_id: int, action: HeldAction, json_mode: bool) -> None:
    options = options_of(ctx)

    async def work(c: Conductor) -> FireInfo:
        if action is HeldAction.RELEASE:
            return await c.triggers.release(held_id)
        return await c.triggers.discard(held_id)

    fired = call(options, _with(options, work), json_mode=json_mode)
    if json_mode:
        output.print_json(fired.model_dump(mode="json"))
    else:
        click.echo(_fire_text(fired))


@triggers.command()
@click.argument("held_id", metavar="HELD_ID", type=int)
@json_option
@click.pass_context
def release(ctx: click.Context, held_id: int, json_mode: bool) -> None:
    """Start a held fire's execution now."""
    _settle(ctx, held_id, HeldAction.RELEASE, json_mode)


@triggers.command()
@click.argument("held_id", metavar="HELD_ID", type=int)
@json_option
@click.pass_context
def discard(ctx: click.Context, held_id: int, json_mode: bool) -> None:
    """Drop a held fire (recorded as skipped)."""
    _settle(ctx, held_id, HeldAction.DISCARD, json_mode)
