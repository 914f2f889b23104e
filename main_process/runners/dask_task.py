"""What runs on a Dask worker for ``runner: dask``: import by name, decode JSON, call, encode.

The engine (:mod:`main_process.runners.dask_runner`) submits one of the two module-level
functions below with plain arguments — an import name and JSON bytes — so nothing of
Conductor's is pickled: Dask moves a reference to this module's function (by name,
as it moves any importable function), bytes and strings. So the workers need
Conductor (and the node's code) importable; see the README's "Dask" section.

* :func:`run_request` runs one node attempt from the same
  :class:`~main_process.runners.process_messages.CallRequest` the ``process`` runner
  sends its worker, and answers with the same messages, as a list: the node's
  ``ctx.log`` lines, then its result or its error. Logs come back with the result
  (a Dask task has no channel back while it runs).
* :func:`run_items` calls one function on each item of a batch (a ``per_item``
  ``python.function`` node or :func:`~main_process.runners.dask_runner.map_items`):
  one task per batch of items keeps Dask's per-task cost (~1-3 ms) off each item.

A task runs on a thread of the worker's pool. Async callables are awaited on an event
loop of that thread's own, kept for the thread's later tasks.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from pathlib import Path
from typing import Any

from app.json_shape import find_not_json
from main_process.runners.process_messages import decode, encode, resolve_name
from main_process.runners.tracebacks import format_traceback

_local = threading.local()


def _loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop (one per worker thread, reused by its later tasks)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def run_request(request: bytes) -> list[bytes]:
    """One node attempt: the ``CallLog`` messages it sent, then ``CallDone``/``CallFailed``."""
    from main_process.runners.process_messages import CallFailed, CallRequest, RemoteError
    from main_process.runners.process_worker import run_call

    try:
        message = decode(request)
    except ValueError as exc:  # pydantic's ValidationError is one
        error = RemoteError(type="ProtocolError", message=f"bad request: {exc}")
        return [encode(CallFailed(error=error))]
    if not isinstance(message, CallRequest):
        error = RemoteError(type="ProtocolError", message=f"unexpected {message.kind!r}")
        return [encode(CallFailed(error=error))]
    sent: list[bytes] = []
    lock = threading.Lock()

    def send(data: bytes) -> None:  # node code may log from threads of its own
        with lock:
            sent.append(data)

    answer = _loop().run_until_complete(run_call(message, send))
    with lock:
        return [*sent, answer]


def _function(import_name: str, base_dir: str | None) -> Any:
    """The callable named ``module:qualname``; a ``python.function`` node's is also
    looked for in its blueprint's folder, as on the engine's own machine."""
    if base_dir is None:
        return resolve_name(import_name)
    from main_process.nodes.code import resolve_function

    return resolve_function(import_name, Path(base_dir))


def run_items(import_name: str, items: bytes, base_dir: str | None = None) -> bytes:
    """Call the function on each item of the JSON list ``items``.

    Answers ``{"results": [...]}``, or ``{"error": {type, message, traceback, index}}``
    for the first item that raised (or whose result is not JSON), the batch's others
    left undone. ``index`` counts within the batch; the engine adds the batch's start.
    """
    loop: asyncio.AbstractEventLoop | None = None
    index = -1
    results: list[Any] = []
    try:
        fn = _function(import_name, base_dir)
        for index, item in enumerate(json.loads(items)):  # noqa: B007 - read in except
            result = fn(item)
            if inspect.isawaitable(result):
                loop = loop or _loop()
                result = loop.run_until_complete(_awaited(result))
            results.append(result)
        index = -1
        return json.dumps({"results": results}, ensure_ascii=False, separators=(",", ":")).encode()
    except Exception as exc:  # user code may raise anything; the engine reports it
        return _item_error(exc, index, results if index < 0 else None)


async def _awaited(result: Any) -> Any:
    return await result


def _item_error(exc: Exception, index: int, results: list[Any] | None) -> bytes:
    message = str(exc) or type(exc).__name__
    error_type = type(exc).__name__
    if index < 0 and results is not None and isinstance(exc, TypeError | ValueError):
        # The results were computed: one of them is not JSON. Say which and where.
        for position, value in enumerate(results):
            bad = find_not_json(value)
            if bad is not None:
                index, error_type = position, "NodeOutputError"
                message = f"the result for this item is not JSON at {bad.path}: {bad.reason}"
                break
    error = {
        "type": error_type,
        "message": message,
        "traceback": format_traceback(exc),
        "index": index,
    }
    return json.dumps({"error": error}, ensure_ascii=False).encode()
