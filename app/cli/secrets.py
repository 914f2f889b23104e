"""``conductor secrets list|set|delete``: the engine process's secrets from the shell.

Without ``--remote`` they act on this data dir's vault (the OS keyring, else the
encrypted file in the data dir); with it, on the server's (secrets belong to the
process that runs the engine). ``set`` reads the value from ``--value``, else a
hidden prompt on a terminal, else standard input (one trailing newline dropped), so
it need not appear in the shell's history or the process list. No command prints a
value.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from app.cli import output
from app.cli.common import EXIT_FAILED, EXIT_OK, call, fail, json_option, options_of
from app.cli.session import Options, open_conductor


async def _with_conductor(options: Options, what: str, *args: Any) -> Any:
    conductor = open_conductor(options)
    try:
        api = conductor.secrets
        if what == "list":
            return await api.list()
        if what == "set":
            return await api.set(*args)
        return await api.delete(*args)
    finally:
        await conductor.close()


def _read_value(given: str | None) -> str:
    if given is not None:
        return given
    if sys.stdin.isatty():
        value: str = click.prompt("Value", hide_input=True, err=True)
        return value
    text = sys.stdin.read()
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


@click.group()
def secrets() -> None:
    """List, set and delete secrets ({{ secrets.NAME }} in blueprints)."""


@secrets.command("list")
@json_option
@click.pass_context
def list_secrets(ctx: click.Context, json_mode: bool) -> None:
    """The names of the secrets (never their values)."""
    options = options_of(ctx)
    names = call(options, _with_conductor(options, "list"), json_mode=json_mode)
    if json_mode:
        output.print_json({"names": names})
    else:
        for name in names:
            click.echo(name)


@secrets.command("set")
@click.argument("name")
@click.option(
    "--value",
    metavar="V",
    help="The value (default: a hidden prompt on a terminal, else standard input).",
)
@json_option
@click.pass_context
def set_secret(ctx: click.Context, name: str, value: str | None, json_mode: bool) -> None:
    """Set (or replace) the secret NAME; its value is at least 4 characters."""
    options = options_of(ctx)
    text = _read_value(value)
    if not text:
        fail("no value given (use --value, a terminal prompt, or standard input)")
    names = call(options, _with_conductor(options, "set", name, text), json_mode=json_mode)
    if json_mode:
        output.print_json({"name": name, "names": names})
    else:
        click.echo(f"secret {name} set", err=True)


@secrets.command("delete")
@click.argument("name")
@json_option
@click.pass_context
def delete_secret(ctx: click.Context, name: str, json_mode: bool) -> None:
    """Delete the secret NAME. Exit 1 when it was not set."""
    options = options_of(ctx)
    deleted = call(options, _with_conductor(options, "delete", name), json_mode=json_mode)
    if json_mode:
        output.print_json({"name": name, "deleted": deleted})
    elif deleted:
        click.echo(f"secret {name} deleted", err=True)
    else:
        click.echo(f"no secret {name}", err=True)
    sys.exit(EXIT_OK if deleted else EXIT_FAILED)
