"""The ``conductor`` flags that set the limits of :mod:`app.limits`.

A flag only sets the limit's environment variable, so the engines this command
starts — in-process, the desktop app's worker, ``serve`` — all read the same value,
and a variable already set in the environment is the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from app.limits import LIMITS, Limit

F = TypeVar("F", bound=Callable[..., Any])


def _exporter(spec: Limit) -> Callable[[click.Context, click.Parameter, float | None], None]:
    def export(_ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
        if value is not None:
            os.environ[spec.env] = format(value, "g")

    return export


def _option(spec: Limit) -> Callable[[F], F]:
    return click.option(
        spec.flag,
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="N",
        expose_value=False,
        callback=_exporter(spec),
        help=f"The {spec.help} (default {spec.default:,.0f}; ${spec.env}).",
    )


def limit_options(command: F) -> F:
    """Add one ``--flag N`` per limit to ``command`` (none reaches its function)."""
    for spec in reversed(list(LIMITS.values())):
        command = _option(spec)(command)
    return command


def limit_option(name: str) -> Callable[[F], F]:
    """The flag of one limit, for a subcommand it mostly concerns (``serve
    --max-sse-buffer-bytes N`` as well as ``conductor --max-sse-buffer-bytes N serve``)."""
    return _option(LIMITS[name])
