"""The CLI's conversations with a conductor: one coroutine per command.

Each opens a conductor with ``transport="auto"`` (direct in-process by default,
``http`` when ``CONDUCTOR_API_URL`` is set), does its work and closes it, so the
engine flushes the store before the process exits. Runs use ``start`` + ``events``
+ ``wait`` rather than ``execute``, so the progress view sees every transition and
an interrupted run still knows its execution id.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from app.cli.arguments import Target, resolve_target
from app.cli.progress import ProgressView, make_view
from app.errors import BlueprintError, ConductorError, Problem
from app.gc_pause import collector_paused
from app.subflow_results import ExecutionLinks

if TYPE_CHECKING:
    from app.api import Conductor
    from app.blueprint import Blueprint
    from app.results import ExecutionResult, ExecutionSummary, NodeTypeInfo


@dataclass(slots=True)
class Options:
    """What every command shares: the data dir, and where progress goes."""

    home: Path | None = None
    #: A ``conductor serve`` to run against (``--remote`` / ``CONDUCTOR_API_URL``).
    remote: str | None = None
    token: str | None = None
    #: Folders ``file.*``/``sqlite.*`` nodes may also use (``--file-root``), beside
    #: the blueprint's folder and the home folder.
    file_roots: tuple[Path, ...] = ()
    #: Where ``runner: dask`` nodes run (``--dask-scheduler``; None: the engine reads
    #: ``$CONDUCTOR_DASK_SCHEDULER``). A ``--remote`` server uses its own.
    dask_scheduler: str | None = None
    progress: TextIO | None = None
    #: The execution being run, once known, so Ctrl-C can say how to resume it.
    execution_id: str | None = field(default=None)
    #: Ask for every output inline (``run --include-node-outputs``), not as handles.
    include_node_outputs: bool = False

    def export_file_roots(self) -> None:
        """Put ``file_roots`` in ``$CONDUCTOR_FILE_ROOTS`` too, for the engines this
        command starts in other processes (the desktop app's worker)."""
        if self.file_roots:
            previous = os.environ.get("CONDUCTOR_FILE_ROOTS", "")
            os.environ["CONDUCTOR_FILE_ROOTS"] = os.pathsep.join(
                [*(str(p.resolve()) for p in self.file_roots), *filter(None, [previous])]
            )


def open_conductor(options: Options, base_dir: Path | None = None) -> Conductor:
    """A conductor on ``auto``; ``home`` and ``base_dir`` apply to an in-process engine only."""
    from app.api import create_conductor
    from app.api_args import resolve_transport_name
    from app.errors import ConfigError

    extra: dict[str, Any] = {}
    if options.dask_scheduler:  # an http client refuses it (the server chooses)
        extra["dask_scheduler"] = options.dask_scheduler
    if options.remote:
        return create_conductor("http", api_url=options.remote, token=options.token, **extra)
    name = resolve_transport_name("auto")
    if name == "direct":
        if options.home is not None:
            extra["home"] = options.home
        if base_dir is not None:
            extra["base_dir"] = base_dir
        if options.file_roots:
            extra["file_roots"] = [base_dir or Path.cwd(), Path.home(), *options.file_roots]
    try:
        with collector_paused():  # the engine's imports and opening; it freezes them
            return create_conductor("auto", **extra)
    except ImportError as exc:
        hint = " (CONDUCTOR_API_URL is set)" if name == "http" else ""
        raise ConfigError(
            f"the {name} transport{hint} is not available in this version: {exc}",
            where="transport",
        ) from None


async def _follow(
    conductor: Conductor,
    execution_id: str,
    view: ProgressView | None,
    after_seq: int = 0,
    *,
    inline: bool = False,
) -> ExecutionResult:
    if view is not None:
        try:
            view.begin(await conductor.get_execution(execution_id))
            async for event in conductor.events(execution_id, after_seq):
                view.event(event)
        finally:
            view.end()
    return await conductor.wait(execution_id, include_node_outputs=inline)


def _view(options: Options, title: str) -> ProgressView | None:
    stream = options.progress
    return None if stream is None else make_view(stream, title, quiet=False)


def _lines_of(problems: list[Problem], target: Target) -> list[Problem]:
    """``problems`` with ``(line N)`` added when the target is a readable file."""
    if target.blueprint is None or not problems:
        return problems
    from app.blueprint_files import with_line_numbers

    try:
        text = Path(target.label).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return problems
    return with_line_numbers(problems, text)


def _in_file(exc: BlueprintError, target: Target) -> BlueprintError:
    """An invalid-blueprint error from the engine, placed in the file it came from."""
    if target.blueprint is None or exc.where is not None:
        return exc
    return BlueprintError(exc.message, where=target.label, problems=_lines_of(exc.problems, target))


async def run_target(
    target: Target, inputs: dict[str, Any], config: dict[str, Any], options: Options
) -> ExecutionResult:
    """Start the target, follow it to its end, and return its result."""
    conductor = open_conductor(options, target.folder)
    try:
        try:
            execution_id = await conductor.start(
                blueprint_id=target.blueprint_id,
                blueprint=target.blueprint,
                inputs=inputs,
                config=config,
            )
        except BlueprintError as exc:
            raise _in_file(exc, target) from None
        options.execution_id = execution_id
        view = _view(options, target.label)
        result = await _follow(conductor, execution_id, view, inline=options.include_node_outputs)
        if result.error_handler_execution_id is not None and not options.remote:
            # In-process: the engine closes with this command, so let the error
            # handler it started run to its end first (a server keeps running it).
            await conductor.wait(result.error_handler_execution_id)
        return result
    finally:
        await conductor.close()


async def resume_execution(execution_id: str, options: Options) -> ExecutionResult:
    """Resume an unfinished execution and follow only what happens from now on."""
    conductor = open_conductor(options)
    try:
        options.execution_id = execution_id
        if options.progress is None:
            return await conductor.resume(
                execution_id, include_node_outputs=options.include_node_outputs
            )
        # Follow from the last recorded event on (a paused execution's stream has
        # no end to read up to).
        last = (await conductor.get_execution(execution_id)).last_seq or 0
        await conductor.resume(execution_id, wait=False)
        view = _view(options, execution_id)
        return await _follow(
            conductor, execution_id, view, last, inline=options.include_node_outputs
        )
    finally:
        await conductor.close()


@dataclass(slots=True)
class Checked:
    """The outcome of validating one ``validate`` argument."""

    label: str
    problems: list[Problem]

    @property
    def valid(self) -> bool:
        return not self.problems


def _problems_of(exc: ConductorError, argument: str) -> list[Problem]:
    if isinstance(exc, BlueprintError) and exc.problems:
        return list(exc.problems)
    where = "" if exc.where in (None, argument) else exc.where
    return [Problem(where=where or "", message=exc.message)]


async def _check_one(conductor: Conductor, argument: str) -> Checked:
    try:
        target = resolve_target(argument)
    except ConductorError as exc:
        return Checked(argument, _problems_of(exc, argument))
    blueprint: Blueprint
    try:
        if target.blueprint is not None:
            blueprint = target.blueprint
        else:
            assert target.blueprint_id is not None
            blueprint = await conductor.get_blueprint(target.blueprint_id)
    except ConductorError as exc:
        return Checked(argument, _problems_of(exc, argument))
    problems = await conductor.validate(blueprint)
    return Checked(target.label, _lines_of(list(problems), target))


async def validate_arguments(arguments: list[str], options: Options) -> list[Checked]:
    """Validate every file (or id) given, collecting every problem of each."""
    conductor = open_conductor(options)
    try:
        return [await _check_one(conductor, argument) for argument in arguments]
    finally:
        await conductor.close()


async def node_types(options: Options) -> list[NodeTypeInfo]:
    conductor = open_conductor(options)
    try:
        return await conductor.node_types()
    finally:
        await conductor.close()


async def history(
    options: Options, *, limit: int, status: str | None, blueprint_id: str | None
) -> list[ExecutionSummary]:
    conductor = open_conductor(options)
    try:
        return await conductor.list_executions(
            limit=limit, status=status, blueprint_id=blueprint_id
        )
    finally:
        await conductor.close()


async def control(
    action: Literal["pause", "cancel"], execution_id: str, options: Options
) -> tuple[bool, ExecutionResult]:
    """Pause or cancel an execution; whether it took effect, and the state after."""
    conductor = open_conductor(options)
    try:
        if action == "pause":
            done = await conductor.pause(execution_id)
        else:
            done = await conductor.cancel(execution_id)
        return done, await conductor.get_execution(execution_id)
    finally:
        await conductor.close()


async def get_execution(execution_id: str, options: Options) -> ExecutionResult:
    conductor = open_conductor(options)
    try:
        return await conductor.get_execution(execution_id)
    finally:
        await conductor.close()


async def write_output(
    execution_id: str, node_id: str, page: tuple[int, int] | None, options: Options
) -> None:
    """Print a node's output (or the execution's ``outputs``) as JSON, read page by
    page; with ``page`` (offset, limit) that one page's document instead. Outputs that
    are a node's stream are that node's pages (see :mod:`app.output_handles`)."""
    from app.cli.output import print_json, write_paged_value
    from app.output_handles import EXECUTION_OUTPUTS, OutputHandle

    conductor = open_conductor(options)
    try:
        if node_id == EXECUTION_OUTPUTS:
            outputs = (await conductor.get_execution(execution_id)).outputs
            if isinstance(outputs, OutputHandle) and outputs.is_stream:
                node_id = outputs.node_id
        if page is not None:
            print_json(
                await conductor.node_output(execution_id, node_id, offset=page[0], limit=page[1])
            )
            return
        await write_paged_value(conductor, execution_id, node_id)
    finally:
        await conductor.close()


async def get_execution_links(
    execution_id: str, options: Options
) -> tuple[ExecutionResult, ExecutionLinks]:
    """An execution and its sub-blueprint links and loop counts (``show``)."""
    conductor = open_conductor(options)
    try:
        result = await conductor.get_execution(execution_id)
        return result, await conductor.subflows.execution_links(execution_id)
    finally:
        await conductor.close()
