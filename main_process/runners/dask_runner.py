"""The ``dask`` runner: node work on a Dask distributed cluster.

An engine given a scheduler address (``conductor --dask-scheduler tcp://host:8786``,
``$CONDUCTOR_DASK_SCHEDULER``, ``create_conductor(dask_scheduler=...)``, ``conductor
serve --dask-scheduler``) runs nodes marked ``runner: dask`` there; only node work
moves, the engine, store and GUI stay where they are. Without one, such a node is a
validation problem (:func:`dask_problems`).

* **One client per engine**, ``asynchronous=True`` on the engine's loop, connected on
  first use (``distributed`` is imported then, off the loop: a run that never uses
  Dask never imports it) and closed with the engine. A scheduler that cannot be
  reached fails the node within :data:`CONNECT_SECONDS` with a
  :class:`DaskUnavailableError` naming the address; the next attempt tries again.
* **Code by name, values as JSON**, as for ``runner: process``: a task is
  :func:`main_process.runners.dask_task.run_request` given the same JSON request a
  worker process gets, and answers with the same messages (log lines, then the result
  or the error). Nothing of ours is pickled; Dask's protocol moves bytes, strings and
  the reference to that importable function. Results come back through the cluster.
* **Items**: a ``python.function`` node with ``per_item: true`` (and
  :func:`map_items`, for a streamed map to call) sends its list in batches, one task
  per batch (:func:`main_process.runners.dask_task.run_items`), so Dask's per-task
  cost is shared by up to :data:`MAX_BATCH` items.
* **Timeouts and cancellation** cancel the attempt's futures (``force=True``): the
  scheduler forgets them, and a task not yet started never starts. A task already
  running on a worker thread runs to its end there, its result dropped — Dask cannot
  stop a thread; use ``runner: process`` for work that must be killed.
* **Lost workers**: tasks are submitted with ``retries=0``, so an exception is the
  node's failure and its ``retry`` decides. A worker that dies mid-task is first Dask's
  business: the scheduler re-runs the task elsewhere up to its
  ``distributed.scheduler.allowed-failures`` (default 3) before giving up with
  ``KilledWorker``, which fails the attempt with :class:`DaskWorkerLostError` and the
  node's ``retry`` applies. Start the scheduler with that setting at 0
  (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0``) to leave every retry to the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import math
import os
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.blueprint import Blueprint, Runner
from app.errors import NodeFailedError, Problem
from main_process.nodes.base import NodeContext
from main_process.runners.process import RemoteNodeError, _answer, call_request
from main_process.runners.process_messages import CallDone, CallFailed, CallLog, RemoteError

if TYPE_CHECKING:
    from main_process.engine.plan import PlanNode

#: The environment variable naming the scheduler when no option does.
SCHEDULER_ENV = "CONDUCTOR_DASK_SCHEDULER"
#: ... and the files to upload to its workers (``Client.upload_file``), ``os.pathsep`` apart.
UPLOAD_ENV = "CONDUCTOR_DASK_UPLOAD"
#: How long connecting to the scheduler may take before the node fails.
CONNECT_SECONDS = 5.0
#: How long telling the scheduler to cancel may take (a cancelled node waits for it).
CANCEL_SECONDS = 2.0
#: Items per task at most; fewer when that leaves workers idle (see :func:`batch_size_for`).
MAX_BATCH = 100
#: Tasks per worker thread a map aims for, so the last batches do not run alone.
TASKS_PER_THREAD = 4

_TASKS = "main_process.runners.dask_task"
#: A client in these states will not come back (``distributed.Client.status``).
_GONE = frozenset({"closing", "closed", "failed"})
_HOW_TO = (
    "give one with conductor --dask-scheduler tcp://host:8786, $CONDUCTOR_DASK_SCHEDULER "
    "or create_conductor(dask_scheduler=...)"
)


class DaskUnavailableError(NodeFailedError):
    """The Dask scheduler cannot be reached (or Dask is not installed)."""

    type_name = "DaskUnavailableError"


class DaskWorkerLostError(NodeFailedError):
    """The Dask worker running the node's task died (after Dask's own re-runs)."""

    type_name = "DaskWorkerLostError"


def dask_problems(blueprint: Blueprint, available: bool) -> list[Problem]:
    """``runner: dask`` nodes an engine without a scheduler would refuse, each named."""
    if available:
        return []
    return [
        Problem(
            where=f"nodes[{index}].runner",
            message=f"node {node.id!r}: runner dask needs a Dask scheduler; {_HOW_TO}",
            code="runner",
        )
        for index, node in enumerate(blueprint.nodes)
        if node.runner is Runner.DASK
    ]


def batch_size_for(n_items: int, n_threads: int) -> int:
    """Items per task: at most :data:`MAX_BATCH`, and few enough that every worker
    thread gets about :data:`TASKS_PER_THREAD` tasks."""
    spread = math.ceil(n_items / max(1, n_threads * TASKS_PER_THREAD))
    return max(1, min(MAX_BATCH, spread))


class DaskCluster:
    """The engine's connection to one Dask scheduler (``address``).

    ``upload`` names local ``.py``/``.zip``/``.egg`` files sent to every worker with
    ``Client.upload_file`` once connected (modules the workers do not have installed).
    """

    def __init__(self, address: str, upload: Sequence[str] = ()) -> None:
        self.address = address
        self.upload = tuple(upload)
        self._client: Any = None
        self._connecting: asyncio.Lock | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self._closed = False

    @classmethod
    def configured(
        cls, address: str | None, upload: Sequence[str] | None = None
    ) -> DaskCluster | None:
        """The cluster named by ``address``, else ``$CONDUCTOR_DASK_SCHEDULER`` (None:
        neither), uploading ``upload``, else ``$CONDUCTOR_DASK_UPLOAD``'s files
        (separated by ``os.pathsep``; ``conductor --dask-upload`` sets it)."""
        address = (address or os.environ.get(SCHEDULER_ENV) or "").strip()
        if not address:
            return None
        if upload is None:
            upload = [p for p in os.environ.get(UPLOAD_ENV, "").split(os.pathsep) if p]
        return cls(address, upload)

    async def client(self) -> Any:
        """The connected ``distributed.Client``: connecting on first use, and again
        when the last one gave up (a scheduler gone longer than Dask's reconnects)."""
        client = self._client
        if client is not None and client.status not in _GONE:
            return client
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None or self._client.status in _GONE:
                self._client = None
                self._client = await self._connect()
        return self._client

    async def _connect(self) -> Any:
        if self._closed:
            raise DaskUnavailableError("the engine is closed; its Dask client is gone")
        try:
            distributed = await asyncio.to_thread(importlib.import_module, "distributed")
        except ImportError as exc:
            raise DaskUnavailableError(
                f"runner dask needs Dask: pip install 'conductor[dask]' ({exc})"
            ) from None
        client: Any = None
        connected = False
        try:
            async with asyncio.timeout(CONNECT_SECONDS + 2.0):
                client = distributed.Client(
                    self.address,
                    asynchronous=True,
                    timeout=CONNECT_SECONDS,
                    set_as_default=False,
                    name="conductor",
                )
                await client
                connected = True
                for path in self.upload:
                    await client.upload_file(path)
        except BaseException as exc:
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.close(), CANCEL_SECONDS)
            if not isinstance(exc, Exception):
                raise  # cancelled (the node's timeout, a cancel) while connecting
            what = "uploading files through" if connected else "cannot reach"
            detail = str(exc) or type(exc).__name__
            raise DaskUnavailableError(
                f"{what} the Dask scheduler at {self.address}: {detail}"
            ) from None
        return client

    async def run(
        self,
        node: PlanNode,
        params: BaseModel | None,
        value: Any,
        ctx: NodeContext,
        variables: dict[str, Any],
    ) -> tuple[Any, str | None]:
        """One attempt of ``node`` on the cluster: its output and port."""
        per_item = per_item_function(params)
        if per_item is not None:
            if not isinstance(value, list):
                raise NodeFailedError(
                    f"node {node.id!r}: per_item needs a list as input, got {type(value).__name__}",
                    where="params.per_item",
                )
            return await self.map(per_item, value, base_dir=str(ctx.base_dir)), None
        data = call_request(ctx.attempt, node, params, value, ctx, variables)
        client = await self.client()
        key = f"conductor-{node.id}-{uuid.uuid4().hex}"
        tasks = importlib.import_module(_TASKS)
        future = client.submit(tasks.run_request, data, key=key, pure=False, retries=0)
        answers: list[list[bytes]] = await self._results(client, [future], node.id)
        for raw in answers[0]:
            message = _answer(raw)
            if isinstance(message, CallLog):
                ctx.log(message.message, message.level, **message.data)
            elif isinstance(message, CallDone):
                return message.value, message.port
            elif isinstance(message, CallFailed):
                raise RemoteNodeError(message.error)
        raise NodeFailedError(f"node {node.id!r}: the Dask task gave no result")

    async def map(
        self,
        import_name: str,
        items: list[Any],
        batch_size: int | None = None,
        *,
        base_dir: str | None = None,
        first_index: int = 0,
    ) -> list[Any]:
        """``import_name`` called on every item, across the cluster, results in order.

        An item that raises fails the whole map with its index, counted from
        ``first_index`` (a chunk of a stream names the item's place in the stream); the
        other batches' futures are cancelled.
        """
        if not items:
            return []
        client = await self.client()
        if batch_size is None:
            threads = await client.nthreads()
            batch_size = batch_size_for(len(items), sum(threads.values()) or 1)
        tasks = importlib.import_module(_TASKS)
        starts = range(0, len(items), batch_size)
        tag = uuid.uuid4().hex
        futures: list[Any] = []
        for number, start in enumerate(starts):
            try:
                batch = json.dumps(items[start : start + batch_size], ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                await self._cancel(client, futures)
                first = first_index + start
                raise NodeFailedError(
                    f"items {first}..{first + batch_size - 1} cannot be sent as JSON: {exc}"
                ) from None
            key = f"conductor-items-{tag}-{number}"
            futures.append(
                client.submit(
                    tasks.run_items,
                    import_name,
                    batch.encode(),
                    base_dir,
                    key=key,
                    pure=False,
                    retries=0,
                )
            )
        answers: list[bytes] = await self._results(client, futures, None)
        results: list[Any] = []
        for start, raw in zip(starts, answers, strict=True):
            answer = json.loads(raw)
            if "error" in answer:
                error = answer["error"]
                index = error.pop("index")
                if index >= 0:  # else the batch as a whole (its function did not import)
                    error["message"] = f"item {first_index + start + index}: {error['message']}"
                raise RemoteNodeError(RemoteError.model_validate(error))
            results.extend(answer["results"])
        return results

    async def _results(self, client: Any, futures: list[Any], node_id: str | None) -> list[Any]:
        """The futures' results in order; cancelling this cancels them on the cluster,
        and the first failure cancels the others."""
        distributed = importlib.import_module("distributed")
        try:
            return list(await client.gather(futures, errors="raise"))
        except asyncio.CancelledError:
            await self._cancel(client, futures)
            raise
        except distributed.KilledWorker as exc:
            await self._cancel(client, futures)
            raise DaskWorkerLostError(
                f"the Dask worker running the task was lost: {exc}", node_id=node_id
            ) from None
        except Exception as exc:
            await self._cancel(client, futures)
            text = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, ModuleNotFoundError) and "main_process" in str(exc):
                text += " (Conductor must be installed on the Dask workers; see the README)"
            raise DaskUnavailableError(
                f"the Dask task failed on the cluster at {self.address}: {text}", node_id=node_id
            ) from None

    async def _cancel(self, client: Any, futures: list[Any]) -> None:
        """Tell the scheduler to forget ``futures`` (waited for, up to a bound)."""
        if not futures:
            return
        task = asyncio.ensure_future(client.cancel(futures, force=True))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), CANCEL_SECONDS)

    async def close(self) -> None:
        """Close the client (the cluster itself is the user's and keeps running)."""
        self._closed = True
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=CANCEL_SECONDS)
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), CANCEL_SECONDS * 2)


def per_item_function(params: BaseModel | None) -> str | None:
    """A ``python.function`` node's function when it is marked ``per_item``."""
    from main_process.nodes.code import FunctionParams

    if isinstance(params, FunctionParams) and params.per_item:
        return params.function
    return None


async def map_items(
    client_ref: DaskCluster | Any,
    import_name: str,
    items: list[Any],
    batch_size: int | None = None,
) -> list[Any]:
    """``import_name`` (``module:qualname``) called on each item on the cluster, batched:
    one task per ``batch_size`` items (None: :func:`batch_size_for`). ``client_ref`` is
    an engine's :class:`DaskCluster`, or an asynchronous ``distributed.Client``."""
    if isinstance(client_ref, DaskCluster):
        return await client_ref.map(import_name, items, batch_size)
    cluster = DaskCluster(str(client_ref.scheduler.address))
    cluster._client = client_ref  # borrowed: not closed here
    return await cluster.map(import_name, items, batch_size)
