"""``conductor``: run, validate and inspect blueprints from a shell.

Exit codes are a contract: 0 success, 1 the execution ran and did not complete,
2 bad usage — a missing file, malformed JSON or YAML, an invalid blueprint, an
unknown id. Every error a user can cause is one paragraph on stderr naming what
and where, never a traceback. With ``--json`` stdout holds exactly one JSON
document (for an error: ``{"error": {...}}``, the HTTP API's shape).

Start-up matters (a run is often one step of a shell script), so this module
imports only click and :mod:`app`'s light models; the engine arrives through
``create_conductor`` and rich only when a live view is drawn on a terminal.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from app.cli import executions, output
from app.cli import secrets as secrets_cli
from app.cli import triggers as triggers_cli
from app.cli.arguments import parse_inputs, resolve_target
from app.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, call, fail, json_option, options_of
from app.cli.dask_options import dask_options, export_dask
from app.cli.limit_options import limit_option, limit_options
from app.cli.run_options import partial_config, run_options
from app.cli.session import Options
from app.errors import ConductorError
from app.pydantic_plugins import skip_plugin_discovery


class _BriefFormatter(logging.Formatter):
    """Log records as one line each: the engine's warnings, without their tracebacks."""

    def formatException(self, ei: Any) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""


def _configure_logging(verbose: bool) -> None:
    """Engine warnings go to stderr as one line each; tracebacks only with --verbose."""
    root = logging.getLogger()
    if root.handlers:  # configured by whoever embeds us
        return
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_BriefFormatter("%(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CONDUCTOR_HOME",
    help="Data directory (default: $CONDUCTOR_HOME, else the user data dir).",
)
@click.option(
    "--remote",
    metavar="URL",
    envvar="CONDUCTOR_API_URL",
    help="Work against a 'conductor serve' at URL (default: $CONDUCTOR_API_URL).",
)
@click.option(
    "--token",
    envvar="CONDUCTOR_TOKEN",
    help="Bearer token for --remote (default: $CONDUCTOR_TOKEN, else the data dir's token).",
)
@click.option(
    "--file-root",
    "file_roots",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder file and SQLite nodes may use besides the blueprint's folder and your "
    "home (repeatable).",
)
@dask_options
@click.option("-v", "--verbose", is_flag=True, help="Show the engine's log, with tracebacks.")
@limit_options
@click.version_option(package_name="conductor", prog_name="conductor")
@click.pass_context
def cli(
    ctx: click.Context,
    home: Path | None,
    remote: str | None,
    token: str | None,
    file_roots: tuple[Path, ...],
    dask_scheduler: str | None,
    dask_upload: tuple[Path, ...],
    verbose: bool,
) -> None:
    """Build, run and watch workflow blueprints.

    Exit codes: 0 success, 1 the execution failed, 2 bad usage or invalid blueprint.
    """
    _configure_logging(verbose)
    ctx.obj = Options(
        home=home,
        remote=remote,
        token=token,
        file_roots=file_roots,
        dask_scheduler=dask_scheduler,
    )
    ctx.obj.export_file_roots()
    export_dask(dask_scheduler, dask_upload)
    if ctx.invoked_subcommand is None:
        from app.api_args import load_object

        ctx.exit(load_object("renderer.app_main:main")([], home=home))


@cli.command()
@click.argument("file", required=False)
@click.pass_context
def gui(ctx: click.Context, file: str | None) -> None:
    """Open the desktop app (with FILE, a blueprint file, open)."""
    from app.api_args import load_object

    main = load_object("renderer.app_main:main")
    sys.exit(main([file] if file else [], home=options_of(ctx).home))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int, help="0 picks a free port.")
@click.option(
    "--token",
    "serve_token",
    metavar="T",
    help="The bearer token clients must send (default: the global --token, else "
    "$CONDUCTOR_TOKEN, else the data dir's token file).",
)
@click.option(
    "--code-nodes/--no-code-nodes",
    default=None,
    help="Run blueprints with code nodes (python.function, shell.command, ...). "
    "Default: on for a loopback host, off for any other.",
)
@click.option(
    "--file-root",
    "file_roots",
    multiple=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder file and SQLite nodes may use (repeatable). "
    "Default: the working directory and your home directory.",
)
@click.option(
    "--triggers/--no-triggers",
    "run_triggers",
    default=True,
    help="Fire the schedule and file triggers of the data dir's blueprints (default: on).",
)
@click.option(
    "--dask-scheduler",
    "serve_dask",
    metavar="ADDRESS",
    help="Run 'runner: dask' nodes on the Dask cluster at ADDRESS (default: the global "
    "--dask-scheduler, else $CONDUCTOR_DASK_SCHEDULER).",
)
@limit_option("sse_buffer_bytes")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    serve_token: str | None,
    code_nodes: bool | None,
    file_roots: tuple[Path, ...],
    run_triggers: bool,
    serve_dask: str | None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json) until Ctrl-C or SIGTERM.

    Every route but /v1/health and /openapi.json needs 'Authorization: Bearer
    <token>': the token is --token (here or before 'serve'), else $CONDUCTOR_TOKEN,
    else the data dir's 'token' file (created 0600 on first serve). A host other than loopback needs
    an explicit token, and refuses code nodes unless --code-nodes is given.
    """
    from app.api_args import load_object

    options = options_of(ctx)
    run_server = load_object("main_process.http.server:serve")
    try:
        run_server(
            host=host,
            port=port,
            home=options.home,
            token=serve_token or options.token,
            code_nodes=code_nodes,
            file_roots=list(file_roots),
            echo=lambda line: click.echo(line, err=True),
            triggers=run_triggers,
            dask_scheduler=serve_dask or options.dask_scheduler,
        )
    except ConductorError as exc:
        fail(output.error_text(exc))


@cli.command()
@click.argument("target", metavar="FILE|ID")
@click.option(
    "-i",
    "--input",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="One input value (repeatable); wins over --inputs.",
)
@click.option(
    "--inputs", "inputs_json", metavar="JSON", help="Inputs as a JSON object, or @file holding one."
)
@click.option("--debug", is_flag=True, help="Record every node's input as well as its output.")
@click.option("--sequential", is_flag=True, help="Run one node at a time.")
@click.option(
    "--include-node-outputs",
    "include_outputs",
    is_flag=True,
    help="Print outputs over the inline limit whole (else a handle with a preview).",
)
@click.option("--remote", metavar="URL", help="Run on a 'conductor serve' at URL.")
@run_options
@json_option
@click.pass_context
def run(
    ctx: click.Context,
    /,
    *,
    target: str,
    remote: str | None,
    pairs: tuple[str, ...],
    inputs_json: str | None,
    debug: bool,
    sequential: bool,
    include_outputs: bool,
    json_mode: bool,
    **partial: Any,
) -> None:
    """Run a blueprint file, or a blueprint by id (data dir, then examples).

    Prints the outputs (or, with --json, the whole result) on stdout and the
    progress on stderr. Exit 0 success, 1 the execution failed, 2 bad usage.
    """
    from app.cli import session

    options = options_of(ctx)
    if remote:
        options.remote = remote
    try:
        inputs = parse_inputs(pairs, inputs_json)
        resolved = resolve_target(target)
        config = partial_config(**partial)
    except ConductorError as exc:
        fail(
            output.error_text(exc),
            json_mode=json_mode,
            info=exc.to_info().model_dump(mode="json", exclude_none=True),
        )
    if debug:
        config["debug_mode"] = True
    if sequential:
        config["parallel"] = False
    options.progress = None if json_mode else sys.stderr
    options.include_node_outputs = include_outputs
    result = call(
        options, session.run_target(resolved, inputs, config, options), json_mode=json_mode
    )
    _report_result(result, json_mode)


def _report_result(result: Any, json_mode: bool) -> NoReturn:
    if json_mode:
        output.print_json(result)
    else:
        if result.success:
            output.print_json(result.outputs)
            hint = output.handle_hint(result)
            if hint is not None:
                click.echo(hint, err=True)
            streams = output.streams_text(result)
            if streams is not None:
                click.echo(streams, err=True)
        click.echo(output.summary_line(result), err=True)
        if result.error is not None:
            click.echo(f"error: {output.error_info_text(result.error)}", err=True)
        if result.error_handler_execution_id is not None:
            handler = result.error_handler_execution_id
            click.echo(f"error handler: {handler} (conductor show {handler})", err=True)
    sys.exit(EXIT_OK if result.success else EXIT_FAILED)


@cli.command()
@click.argument("execution_id")
@json_option
@click.pass_context
def resume(ctx: click.Context, execution_id: str, json_mode: bool) -> None:
    """Re-run the nodes of an unfinished execution that did not complete."""
    from app.cli import session

    options = options_of(ctx)
    options.progress = None if json_mode else sys.stderr
    result = call(options, session.resume_execution(execution_id, options), json_mode=json_mode)
    _report_result(result, json_mode)


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE|ID...")
@json_option
@click.pass_context
def validate(ctx: click.Context, files: tuple[str, ...], json_mode: bool) -> None:
    """Check blueprints and list every problem with its place.

    Exit 0 when all are valid, 2 when any problem is found.
    """
    from app.cli import session

    options = options_of(ctx)
    checked = call(options, session.validate_arguments(list(files), options), json_mode=json_mode)
    if json_mode:
        output.print_json(
            [
                {
                    "file": c.label,
                    "valid": c.valid,
                    "problems": [p.model_dump(mode="json") for p in c.problems],
                }
                for c in checked
            ]
        )
    else:
        for c in checked:
            if c.valid:
                click.echo(f"{c.label}: valid")
            for p in c.problems:
                click.echo(
                    f"{c.label}: {p.where}: {p.message}" if p.where else f"{c.label}: {p.message}"
                )
        bad = sum(1 for c in checked if not c.valid)
        if bad:
            total = sum(len(c.problems) for c in checked)
            click.echo(f"{total} problem(s) in {bad} of {len(checked)} blueprint(s)", err=True)
    sys.exit(EXIT_OK if all(c.valid for c in checked) else EXIT_USAGE)


@cli.command()
@json_option
@click.pass_context
def nodes(ctx: click.Context, json_mode: bool) -> None:
    """List the node types a blueprint can use."""
    from app.cli import session

    options = options_of(ctx)
    types = call(options, session.node_types(options), json_mode=json_mode)
    if json_mode:
        output.print_json([t.model_dump(mode="json") for t in types])
    else:
        click.echo(output.node_types_table(types))


for _command in (
    executions.pause,
    executions.cancel,
    executions.history,
    executions.show,
    executions.output_command,
):
    cli.add_command(_command)
cli.add_command(triggers_cli.triggers)
cli.add_command(secrets_cli.secrets)


def main(args: list[str] | None = None) -> None:
    """The ``conductor`` console script.

    Pydantic plugins are off in this process unless asked for
    (``PYDANTIC_DISABLE_PLUGINS`` set): looking for them imports
    :mod:`importlib.metadata` and scans the entry points of every installed
    distribution at the first model build, a noticeable part of a short command's
    start-up, and Conductor's commands use none (see :mod:`app.pydantic_plugins`).
    """
    skip_plugin_discovery()
    cli.main(args=args, prog_name="conductor")
