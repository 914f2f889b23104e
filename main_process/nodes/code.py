"""Code nodes: ``python.function`` (an importable callable) and ``shell.command`` (argv).

Both run user code, and both keep the engine loop free while it runs:

* ``python.function`` awaits ``async def`` functions on the loop and sends plain
  ones to the engine's node threads (:func:`~main_process.runners.threads.run_blocking`;
  not ``asyncio.to_thread``, whose pool ``asyncio.run`` joins at exit, so a function
  stuck past its timeout would hold the process) — or, in a node without a
  ``timeout``, waited for in place once they have shown themselves fast
  (:mod:`main_process.runners.sync_calls`) — the type itself is async so
  it can tell the two apart only after importing. With ``runner: process`` the
  whole node runs in a worker process that is killed at the timeout. A module that is not importable
  but sits in the blueprint's folder is found there: the folder is appended to
  ``sys.path`` (last, so it never shadows an installed package).
* ``shell.command`` runs a program without a shell (argv, so no quoting or
  injection issues), sends the input as JSON on stdin and reads JSON (or text)
  from stdout: any language can be a node. The child gets its own process group
  on POSIX, so a cancelled or timed-out node kills the child *and* anything it
  started; nothing outlives the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import NodeFailedError
from app.limits import LIMITS, limit
from app.stream_roles import flagged_role
from main_process.nodes.base import NodeContext, NodeType
from main_process.nodes.files import resolve_path
from main_process.runners.process_tree import kill_tree
from main_process.runners.reaper import REAPER
from main_process.runners.sync_calls import run_user_function
from main_process.runners.threads import run_blocking
from main_process.runners.tracebacks import exit_reason

_FUNCTION_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")

#: How much of a failing command's stderr goes into the failure message.
_STDERR_TAIL_CHARS = 2000
_STDERR_TAIL_LINES = 20


class FunctionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Python function")

    function: str = Field(
        description="module:function to call with the input; sync or async.",
        examples=["mypackage.tasks:clean_rows"],
    )
    stream: bool = Field(
        default=False,
        description="The function is a generator: its items stream to the next nodes.",
    )
    per_item: bool = Field(
        default=False,
        title="Per item",
        description="Call the function once per item of its input (a stream or a list, "
        "with the item only): a stream in gives a stream out, a list the list of results. "
        "With runner dask the items are spread over the cluster's workers in batches.",
    )

    @field_validator("function")
    @classmethod
    def _module_colon_name(cls, function: str) -> str:
        if "{{" not in function and not _FUNCTION_SPEC.fullmatch(function.strip()):
            raise ValueError(
                f"expected module:function (e.g. package.module:name), got {function!r}"
            )
        return function.strip()


def _import(module_name: str, base_dir: Path) -> Any:
    """Import ``module_name``, looking in ``base_dir`` too when it is not found elsewhere."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.partition(".")[0]
        local = (base_dir / f"{top}.py").is_file() or (base_dir / top).is_dir()
        if exc.name != top or not local:
            raise
    folder = str(base_dir)
    if folder not in sys.path:
        sys.path.append(folder)
    importlib.invalidate_caches()
    return importlib.import_module(module_name)


def resolve_function(spec: str, base_dir: Path) -> Callable[..., Any]:
    """The callable named by ``module:qualname``; a NodeFailedError says what is wrong."""
    module_name, _, qualname = spec.partition(":")
    try:
        target: Any = _import(module_name, base_dir)
    except ModuleNotFoundError as exc:
        raise NodeFailedError(
            f"cannot import module {module_name!r} for {spec!r}: {exc}", where="params.function"
        ) from exc
    except Exception as exc:  # importing user code may raise anything
        raise NodeFailedError(
            f"importing module {module_name!r} for {spec!r} failed: {type(exc).__name__}: {exc}",
            where="params.function",
        ) from exc
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise NodeFailedError(
                f"module {module_name!r} has no attribute {qualname!r}", where="params.function"
            ) from None
    if not callable(target):
        raise NodeFailedError(f"{spec!r} is not callable", where="params.function")
    return target  # type: ignore[no-any-return]


def _is_async(fn: Callable[..., Any]) -> bool:
    # Callable objects count too when their class defines ``async def __call__``.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _takes_context(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


class _ThreadContext:
    """The node context for a function running on a worker thread: logging and
    variables are handed to the engine's loop, which alone may change state."""

    def __init__(self, ctx: NodeContext, loop: asyncio.AbstractEventLoop) -> None:
        self._ctx = ctx
        self._loop = loop
        self.execution_id = ctx.execution_id
        self.node_id = ctx.node_id
        self.attempt = ctx.attempt
        self.inputs = ctx.inputs
        self.upstream = ctx.upstream
        self.base_dir = ctx.base_dir

    def log(self, message: str, level: str = "info", **data: Any) -> None:
        self._loop.call_soon_threadsafe(lambda: self._ctx.log(message, level, **data))

    def get_variable(self, key: str, default: Any = None) -> Any:
        return self._ctx.get_variable(key, default)

    def set_variable(self, key: str, value: Any) -> None:
        self._loop.call_soon_threadsafe(self._ctx.set_variable, key, value)


async def run_function(params: FunctionParams, input: Any, ctx: NodeContext) -> Any:
    """Call a Python function with the input (and the node context, when it takes a
    second argument); output its return value. ``per_item``: the function is called
    with each item of the input list, and the results are the output."""
    module_name = params.function.partition(":")[0]
    if module_name in sys.modules:
        fn = resolve_function(params.function, ctx.base_dir)
    else:  # a first import may do blocking work of its own
        fn = await run_blocking(resolve_function, params.function, ctx.base_dir)
    if params.per_item:
        if not isinstance(input, list):
            raise NodeFailedError(
                f"per_item needs a list as input, got {type(input).__name__}",
                where="params.per_item",
            )
        return [await _call_one(fn, item) for item in input]
    with_context = _takes_context(fn)
    if _is_async(fn):
        result = await (fn(input, ctx) if with_context else fn(input))
    elif with_context:
        # A context that is safe on any thread (the process runner's) goes as it is, so
        # its errors (set_variable there) reach the function that caused them.
        thread_ctx: Any = ctx
        if not getattr(ctx, "thread_safe", False):
            thread_ctx = _ThreadContext(ctx, asyncio.get_running_loop())
        result = await run_user_function(fn, input, thread_ctx)
    else:
        result = await run_user_function(fn, input)
    if inspect.isawaitable(result):
        result = await result
    return result


def item_function(params: FunctionParams, ctx: NodeContext) -> Callable[[Any], Any]:
    """``per_item``: the function, called with each item (and the context, if it takes it)."""
    fn = resolve_function(params.function, ctx.base_dir)
    if not _takes_context(fn):
        return fn
    if _is_async(fn):

        async def with_context(item: Any) -> Any:
            return await fn(item, ctx)

        return with_context
    return lambda item: fn(item, ctx)


async def _call_one(fn: Callable[..., Any], item: Any) -> Any:
    """One item's call of a ``per_item`` function (sync ones off the loop, as usual)."""
    result = await fn(item) if _is_async(fn) else await run_user_function(fn, item)
    if inspect.isawaitable(result):
        result = await result
    return result


class ShellParams(BaseModel):
    model_config = ConfigDict(
        extra="forbid", defer_build=True, title="Shell command", coerce_numbers_to_str=True
    )

    argv: list[str] = Field(
        min_length=1,
        title="Command (argv)",
        description="Program and its arguments, one per item; no shell is involved.",
        examples=[["python", "script.py", "--flag"]],
    )
    input: Any = Field(
        default=None, description="Value sent as JSON on stdin. Empty: the node's input."
    )
    cwd: str | None = Field(
        default=None,
        title="Working directory",
        description="Working directory. Empty: the blueprint's folder.",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        title="Environment",
        description="Environment variables, added to (and overriding) the engine's.",
    )


def _tail(text: str) -> str:
    lines = text.strip().splitlines()[-_STDERR_TAIL_LINES:]
    tail = "\n".join(lines)
    return tail if len(tail) <= _STDERR_TAIL_CHARS else "…" + tail[-_STDERR_TAIL_CHARS:]


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the child and, on POSIX, its process group and every descendant (``setsid``
    grandchildren included: :func:`~main_process.runners.process_tree.kill_tree`)."""
    if os.name == "posix":
        kill_tree(process.pid)
    elif process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            process.kill()


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for a killed child. Its unread output is read and dropped first: asyncio's
    ``wait()`` also waits for the pipes to close, and a pipe whose reading was paused
    (a reader stopped at the output cap) would never see its end."""
    for stream in (process.stdout, process.stderr):
        while stream is not None and await stream.read(65536):
            pass
    await process.wait()


def _output(stdout: bytes) -> Any:
    """stdout parsed as JSON; else its text without the trailing newline; empty is None.

    Bytes that are not UTF-8 fail the node, naming the first bad byte: an output is
    JSON or text, and a silent U+FFFD would change the data unseen (issue 11).
    """
    try:
        text = stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NodeFailedError(
            f"stdout is not UTF-8 text (byte 0x{stdout[exc.start]:02x} at offset {exc.start:,}); "
            "a node's output is JSON or text: encode binary output (e.g. base64) in the command",
            where="output",
        ) from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text.rstrip("\r\n")


async def _read_capped(stream: asyncio.StreamReader | None, cap: int, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while stream is not None and (chunk := await stream.read(65536)):
        size += len(chunk)
        if size > cap:
            spec = LIMITS["process_output_bytes"]
            raise NodeFailedError(
                f"{what} wrote more than {cap:,} bytes; raise {spec.env} or {spec.flag} to "
                "accept more",
                where="params.argv",
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def _communicate(
    process: asyncio.subprocess.Process, stdin: bytes, program: str
) -> tuple[bytes, bytes]:
    """``communicate()`` with stdout and stderr each capped (a program that writes
    gigabytes fails the node instead of filling the engine's memory)."""
    cap = limit("process_output_bytes")

    async def feed() -> None:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(stdin)
            await process.stdin.drain()
        process.stdin.close()

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(feed())
            out = group.create_task(_read_capped(process.stdout, cap, f"{program} (stdout)"))
            err = group.create_task(_read_capped(process.stderr, cap, f"{program} (stderr)"))
    except* NodeFailedError as failed:
        raise failed.exceptions[0] from None
    await process.wait()
    return out.result(), err.result()


async def run_shell(params: ShellParams, input: Any, ctx: NodeContext) -> Any:
    """Run a program with the input as JSON on stdin; output its stdout (JSON, else text)."""
    program = params.argv[0]
    cwd = resolve_path(params.cwd, ctx.base_dir) if params.cwd else ctx.base_dir
    if not cwd.is_dir():
        raise NodeFailedError(f"working directory {cwd} does not exist", where="params.cwd")
    payload = input if params.input is None else params.input
    try:
        stdin = json.dumps(payload, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise NodeFailedError(f"input cannot be sent as JSON: {exc}", where="params.input") from exc
    env = {**os.environ, **params.env} if params.env else None
    try:
        process = await asyncio.create_subprocess_exec(
            *params.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=os.name == "posix",
            preexec_fn=REAPER.preexec(),  # registers the child before it runs anything
        )
    except FileNotFoundError as exc:
        raise NodeFailedError(f"command not found: {program}", where="params.argv") from exc
    except PermissionError as exc:
        raise NodeFailedError(f"command {program} is not executable", where="params.argv") from exc
    except OSError as exc:
        raise NodeFailedError(f"cannot start {program}: {exc}", where="params.argv") from exc

    try:
        stdout, stderr_bytes = await _communicate(process, stdin, program)
    except BaseException:  # cancelled, timed out or too much output: leave no process behind
        _kill(process)
        await _reap(process)
        raise
    finally:
        REAPER.release(process.pid)

    stderr = _tail(stderr_bytes.decode("utf-8", errors="replace"))
    code = process.returncode
    assert code is not None  # communicate() returns only once the process has exited
    if code != 0:
        raise NodeFailedError(
            f"command {program} {exit_reason(code)}" + (f"; stderr:\n{stderr}" if stderr else ""),
            where="params.argv",
        )
    if stderr:
        ctx.log(f"{program} stderr:\n{stderr}", "info")
    return _output(stdout)


CODE_TYPES: list[NodeType] = [
    NodeType(
        "python.function",
        "Python function",
        "Code",
        FunctionParams,
        run_function,
        runs_code=True,
        streams=flagged_role,
        item_function=item_function,
    ),
    NodeType("shell.command", "Shell command", "Code", ShellParams, run_shell, runs_code=True),
]
