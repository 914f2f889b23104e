"""What every ``conductor`` command shares: exit codes, and how a command's coroutine
turns typed errors and Ctrl-C into them."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from app.cli import output
from app.cli.session import Options
from app.errors import ConductorError, StoreError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

T = TypeVar("T")


def fail(message: str, *, json_mode: bool = False, info: dict[str, Any] | None = None) -> NoReturn:
    """Report a user error on stderr (and as JSON on stdout with --json), then exit 2."""
    if json_mode:
        output.print_json({"error": info or {"type": "UsageError", "message": message}})
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def call(options: Options, coro: Coroutine[Any, Any, T], *, json_mode: bool = False) -> T:
    """Run one command's coroutine, turning typed errors and Ctrl-C into exit codes."""
    try:
        return asyncio.run(coro)
    except StoreError as exc:
        # The execution could not be recorded: it failed (1), it was not misused (2).
        if json_mode:
            output.print_json({"error": exc.to_info().model_dump(mode="json", exclude_none=True)})
        click.echo(f"error: {output.error_text(exc)}", err=True)
        sys.exit(EXIT_FAILED)
    except ConductorError as exc:
        fail(
            output.error_text(exc),
            json_mode=json_mode,
            info=exc.to_info().model_dump(mode="json", exclude_none=True),
        )
    except OSError as exc:
        fail(f"{exc.filename or 'data directory'}: {exc.strerror or exc}", json_mode=json_mode)
    except KeyboardInterrupt:
        hint = ""
        if options.execution_id is not None:
            hint = f"; resume it with: conductor resume {options.execution_id}"
        click.echo(f"interrupted{hint}", err=True)
        sys.exit(EXIT_INTERRUPTED)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")(fn)


def options_of(ctx: click.Context) -> Options:
    options = ctx.find_object(Options)
    return options if options is not None else Options()
