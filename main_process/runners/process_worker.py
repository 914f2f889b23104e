"""The ``process`` runner's worker: runs node code, one call at a time, until killed.

:mod:`main_process.runners.process` starts it as a fresh interpreter (``python -c``,
never a fork of the engine, and never a re-import of the engine's ``__main__``) with
one end of a socket pair, and kills it — with its whole process group — when a call
outlives its timeout or is cancelled. So nothing here needs to be interruptible:
the worker reads a :class:`~main_process.runners.process_messages.CallRequest`, imports the
named callable, runs it (awaiting it on the worker's own loop if it is async), and
answers with the result or the error, then waits for the next call.

Start-up counts against the first call's timeout, so the worker imports only
pydantic and :mod:`~main_process.runners.process_messages`; Conductor's own types are
looked up in ``sys.modules`` — an exception cannot be a ``ConductorError`` unless
the code that raised it imported ``app.errors``.

Assumptions: the engine is the only writer on the other end and sends one request
at a time. The worker exits on EOF (the engine closed or died); if the engine dies
while a call is stuck, a watcher thread notices the re-parenting and exits too.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, assert_never

from pydantic import ValidationError

from app.json_shape import NotJson, output_message
from main_process.runners.process_messages import (
    CallContext,
    CallDone,
    CallFailed,
    CallLog,
    CallRequest,
    RemoteError,
    decode,
    encode,
    encode_done,
    encode_log,
    resolve_name,
)
from main_process.runners.tracebacks import format_traceback

_ERRORS, _NODE_BASE = "app.errors", "main_process.nodes.base"

#: How often the stuck-call watcher checks that the engine is still there.
_PARENT_CHECK_SECONDS = 1.0

#: Where a call's messages (its log lines) go: the socket here, a list on a Dask worker.
Send = Callable[[bytes], None]


class _Sender:
    """Sends whole messages; a lock, because node code may log from its own threads."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> None:
        with self._lock:
            self._conn.send_bytes(data)


class WorkerContext:
    """The node context inside a worker: a read-only snapshot plus forwarded logs.

    ``set_variable`` cannot work here (the execution's variables live in the engine,
    and a killed worker could leave them half-written), so it fails loudly.
    """

    #: Usable from any thread as it is (``python.function`` then skips its loop hand-off).
    thread_safe = True

    def __init__(self, snapshot: CallContext, send: Send, call: int = 0) -> None:
        self.call = call
        self.execution_id = snapshot.execution_id
        self.node_id = snapshot.node_id
        self.attempt = snapshot.attempt
        self.inputs = snapshot.inputs
        self.upstream = snapshot.upstream
        self.base_dir = Path(snapshot.base_dir)
        self.file_roots = tuple(Path(root) for root in snapshot.file_roots)
        self.timeout = snapshot.timeout
        self._variables = snapshot.variables
        self._send = send

    def log(self, message: str, level: str = "info", **data: Any) -> None:
        self._send(encode_log(self.call, str(message), level, data))

    def get_variable(self, key: str, default: Any = None) -> Any:
        return self._variables.get(key, default)

    def set_variable(self, key: str, value: Any) -> None:
        from app.errors import NodeFailedError

        raise NodeFailedError(
            f"set_variable({key!r}) is not supported on the process runner: the worker "
            "process cannot change the execution's variables; return the value instead, "
            "or run this node on the thread runner"
        )


def _remote_error(exc: BaseException) -> RemoteError:
    """The error as the engine records it for a node on a thread."""
    errors = sys.modules.get(_ERRORS)
    if errors is not None and isinstance(exc, errors.ConductorError):
        info = exc.to_info()
        return RemoteError(
            type=info.type, message=info.message, where=info.where, traceback=format_traceback(exc)
        )
    return RemoteError(
        type=type(exc).__name__,
        message=str(exc) or type(exc).__name__,
        traceback=format_traceback(exc),
    )


async def _call(request: CallRequest, send: Send) -> Any:
    target = resolve_name(request.target)
    ctx = WorkerContext(request.context, send, request.call)
    if request.params_model is not None:
        params = resolve_name(request.params_model).model_validate(request.params or {})
        result = target(params, request.input, ctx)
    elif request.with_context:
        result = target(request.input, ctx)
    else:
        result = target(request.input)
    if inspect.isawaitable(result):
        result = await result
    return result


async def run_call(request: CallRequest, send: Send) -> bytes:
    """The encoded answer to one request: done, or failed with the error."""
    try:
        result = await _call(request, send)
    except Exception as exc:  # node code may raise anything; the engine reports it
        return encode(CallFailed(error=_remote_error(exc)))
    value, port = result, None
    base = sys.modules.get(_NODE_BASE)
    if base is not None and isinstance(result, base.PortOutput):
        value, port = result.value, result.port
    try:
        return encode_done(value, port)
    except NotJson as bad:  # as the engine fails a node on a thread for it
        message = output_message(request.context.node_id, value, bad)
        error = RemoteError(type="NodeOutputError", message=message, where="output")
        return encode(CallFailed(error=error))


def _watch_parent() -> None:
    """Exit when the engine's process is gone, even while a call is stuck."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_SECONDS)
        # The worker leads its own session: take what node code started along too.
        with contextlib.suppress(OSError):
            os.killpg(0, signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="conductor-parent-watch", daemon=True).start()


def main(fd: int) -> None:
    """Serve calls on the socket ``fd`` until EOF, then exit at once.

    ``os._exit``: threads left running by node code must not hold the worker open.
    """
    conn = Connection(fd)
    send = _Sender(conn)
    _watch_parent()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            break
        try:
            message = decode(data)
        except ValidationError as exc:
            error = RemoteError(type="ProtocolError", message=f"bad request: {exc}")
            send(encode(CallFailed(error=error)))
            continue
        match message:
            case CallRequest():
                send(loop.run_until_complete(run_call(message, send)))
            case CallLog() | CallDone() | CallFailed():
                error = RemoteError(type="ProtocolError", message=f"unexpected {message.kind!r}")
                send(encode(CallFailed(error=error)))
            case _:
                assert_never(message)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
