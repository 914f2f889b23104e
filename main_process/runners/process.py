"""The ``process`` runner: node code in warm worker processes that are killed at the timeout.

A thread cannot be stopped, so a blocking node on the ``thread`` runner that ignores
its timeout keeps running (the node is reported failed, but the work goes on). A
node on ``runner: process`` runs in a worker process instead, and a call that is
cancelled — its timeout expired, the execution was cancelled, the engine closes —
kills that worker and its whole process group, so the work really stops.

* At most ``max_processes`` workers per engine, started on first need and kept warm
  for later calls, one call at a time each; a call waits for a free worker. A killed
  worker is replaced by the next call that needs one.
* A worker is a fresh interpreter (``python -c``, see
  :mod:`main_process.runners.process_worker`), not a ``multiprocessing`` child: the
  GUI's engine process is itself a daemonic ``multiprocessing`` child, which may not
  have children of its own, and ``spawn`` would re-run a user's unguarded
  ``__main__`` script in every worker. It gets ``sys.path`` from the engine, runs in
  its own session (its process group dies with it), and talks over a socket pair.
* Code crosses by name and values as JSON (:mod:`main_process.runners.process_messages`):
  a node type's ``run`` and params model, or a code-defined function, must be
  importable; params, input and a snapshot of the context are sent; the result, or
  the error with its type and traceback, comes back. ``ctx.log`` lines are
  forwarded; ``ctx.set_variable`` fails (the worker has only a snapshot).

Assumptions: POSIX (the socket end is passed by descriptor number). A call's first
use of a worker pays its start-up (~0.1-0.2 s of imports), and counts against the
node's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import struct
import sys
from collections import deque
from typing import Any, assert_never

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from app.errors import ConfigError, EngineClosedError, ErrorInfo, NodeFailedError
from app.json_values import validate_json
from main_process.engine.plan import PlanNode
from main_process.nodes.base import NodeContext
from main_process.runners.process_messages import (
    CallContext,
    CallDone,
    CallFailed,
    CallLog,
    CallRequest,
    RemoteError,
    encode,
    process_message_adapter,
)
from main_process.runners.tracebacks import exit_reason

_BOOTSTRAP = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from main_process.runners.process_worker import main; main(int(sys.argv[2]))"
)


def _answer(data: bytes) -> CallRequest | CallLog | CallDone | CallFailed:
    """A worker's message; a result nested past pydantic's parser (~200 levels, up to
    the 1,000 a value may have) is read by orjson (:func:`app.json_values.validate_json`)."""
    return validate_json(process_message_adapter(), data)


class RemoteNodeError(NodeFailedError):
    """A node failed in a worker process. It reports the worker's exception type,
    message and traceback, so the failure reads as it would on a thread."""

    type_name = "RemoteNodeError"

    def __init__(self, error: RemoteError) -> None:
        super().__init__(error.message, where=error.where, traceback=error.traceback)
        self.remote_type = error.type

    def to_info(self) -> ErrorInfo:
        info = super().to_info()
        info.type = self.remote_type
        return info


def call_request(
    call: int,
    node: PlanNode,
    params: BaseModel | None,
    value: Any,
    ctx: NodeContext,
    variables: dict[str, Any],
) -> bytes:
    """The JSON request for one attempt of ``node`` (a worker process's or a Dask
    task's); a NodeFailedError naming the node when a value cannot cross as JSON."""
    assert node.process_target is not None
    request = CallRequest(
        call=call,
        target=node.process_target,
        params_model=node.process_params_model,
        params=None if params is None else params.model_dump(mode="json", by_alias=True),
        input=value,
        with_context=node.takes_context,
        context=CallContext(
            execution_id=ctx.execution_id,
            node_id=node.id,
            attempt=ctx.attempt,
            inputs=ctx.inputs,
            upstream=ctx.upstream,
            variables=variables,
            base_dir=str(ctx.base_dir),
            file_roots=[str(root) for root in ctx.file_roots],
            timeout=node.timeout,
        ),
    )
    try:
        return encode(request)
    except PydanticSerializationError as exc:
        raise NodeFailedError(
            f"node {node.id!r}: its input, params or context cannot be sent to a worker "
            f"as JSON: {exc}"
        ) from None


class _Worker:
    """One worker process and the engine's end of its socket.

    The engine side reads and writes through asyncio streams, so a large result or
    request never blocks the loop (other executions, timeouts) and a cancelled call
    stops waiting at once. The framing is ``multiprocessing.connection``'s, which the
    worker uses: a 4-byte signed big-endian length, or -1 and an 8-byte length.
    """

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer

    @classmethod
    async def start(cls) -> _Worker:
        if os.name != "posix":
            raise ConfigError("runner process needs a POSIX system", where="runner")
        ours, theirs = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _BOOTSTRAP,
                json.dumps(sys.path),
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # else EOF never comes when the worker dies
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        return cls(process, reader, writer)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.writer.is_closing()

    async def send(self, data: bytes) -> None:
        n = len(data)
        header = struct.pack("!i", n) if n <= 0x7FFFFFFF else struct.pack("!iQ", -1, n)
        self.writer.write(header)
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self) -> bytes:
        """The next whole message; EOFError (IncompleteReadError) when the worker is gone."""
        (n,) = struct.unpack("!i", await self.reader.readexactly(4))
        if n == -1:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return await self.reader.readexactly(n)

    def kill(self) -> None:
        """Kill the worker and everything it started (its process group)."""
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: pgid == pid
            except (ProcessLookupError, PermissionError):
                # Not Popen.kill() first: it polls, reaping the child behind asyncio's back.
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        self.writer.close()


class ProcessPool:
    """The engine's worker processes for nodes on ``runner: process``."""

    def __init__(self, max_processes: int = 4) -> None:
        self.max_processes = max(1, max_processes)
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._reaping: set[asyncio.Task[int]] = set()
        self._calls = itertools.count(1)
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        return [w.process.pid for w in self._workers]

    async def run(
        self,
        node: PlanNode,
        params: BaseModel | None,
        value: Any,
        ctx: NodeContext,
        variables: dict[str, Any],
    ) -> tuple[Any, str | None]:
        """Run one attempt of ``node`` in a worker: its output and port.

        Cancelling this (timeout, cancel, shutdown) kills the worker at once.
        """
        call = next(self._calls)
        data = call_request(call, node, params, value, ctx, variables)
        worker = await self._acquire()
        finished = False
        try:
            await worker.send(data)
            while True:
                message = _answer(await worker.receive())
                match message:
                    case CallLog():
                        if message.call == call:  # else a leftover of an earlier call
                            ctx.log(message.message, message.level, **message.data)
                    case CallDone():
                        finished = True
                        return message.value, message.port
                    case CallFailed():
                        finished = True
                        raise RemoteNodeError(message.error)
                    case CallRequest():
                        raise NodeFailedError(f"node {node.id!r}: the worker sent a request")
                    case _:
                        assert_never(message)
        except (EOFError, OSError):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(worker.process.wait()), 1.0)
            reason = exit_reason(worker.process.returncode)
            raise NodeFailedError(
                f"node {node.id!r}: its worker process {reason} while running it"
            ) from None
        except ValidationError as exc:
            raise NodeFailedError(f"node {node.id!r}: bad message from the worker: {exc}") from None
        finally:
            if finished:
                self._release(worker)
            else:
                self._discard(worker)

    async def _acquire(self) -> _Worker:
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise EngineClosedError("the engine is closed; its worker processes are gone")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                self._discard(worker)
            if len(self._workers) + self._starting < self.max_processes:
                return await self._start()
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # we were handed a worker we no longer want: pass it on
                else:
                    self._waiters.remove(waiter)
                raise

    async def _start(self) -> _Worker:
        self._starting += 1
        try:
            worker = await _Worker.start()
        except BaseException:
            self._wake()
            raise
        finally:
            self._starting -= 1
        self._workers.add(worker)
        if self._closed:
            self._discard(worker)
            raise EngineClosedError("the engine is closed; its worker processes are gone")
        return worker

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _release(self, worker: _Worker) -> None:
        if self._closed or not worker.alive:
            self._discard(worker)
            return
        self._idle.append(worker)
        self._wake()

    def _discard(self, worker: _Worker) -> None:
        """Kill ``worker``, reap it in the background, and free its slot."""
        worker.kill()
        if worker in self._workers:
            self._workers.discard(worker)
            task = asyncio.get_running_loop().create_task(worker.process.wait())
            self._reaping.add(task)
            task.add_done_callback(self._reaping.discard)
        self._wake()

    async def close(self) -> None:
        """Kill every worker (busy ones too) and wait until they are reaped."""
        self._closed = True
        for worker in list(self._workers):
            self._discard(worker)
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # they wake, see the pool closed, and raise
        if self._reaping:
            await asyncio.wait(list(self._reaping), timeout=5.0)
