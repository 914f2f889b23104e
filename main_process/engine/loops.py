"""Running a ``loop`` node: its body once per item, each iteration recorded.

Decision (measured, see ``bench/automation_loop.py``): an iteration is **not** a
full execution. A recorded execution of a one-node blueprint costs ~0.7 ms here (a
row, its events and its commits), so 10,000 of them take ~7 s, over the 5 s budget,
and leave 10,000 executions in History; so each iteration runs the
body's compiled plan on an in-memory driver (a :class:`StateManager` without a
store, released as soon as the iteration ends), and its outcome — index, status,
output, error — is a row of ``loop_iterations``, written in batches (at most
:data:`BATCH_ROWS` rows or :data:`BATCH_SECONDS` apart, one transaction each).
Resume (and a retry of the node) reuses the iterations recorded ``completed`` and
re-runs only the others; a killed process loses at most the last unwritten batch,
which is then run again.

Measured: 10,000 iterations of a one-node body in ~0.6 s (~60 µs each) with a peak
resident increase of ~6 MB (``python bench/automation.py --only loop``).

Memory: the results list holds each output once; the serialised copy for the
store lives only until its batch is written. The total size of the results is
bounded by the ``value_bytes`` limit (:mod:`app.value_size`).

The body sees ``{{ item }}`` and ``{{ index }}`` beside its inputs (and gets them
as the inputs ``item``/``index`` when it declares those). A body may not itself
call blueprints or loop (its runs are not recorded executions to link to).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from app.blueprint import Blueprint
from app.errors import ConductorError, ErrorInfo
from app.limits import limit
from app.states import ExecutionStatus, NodeStatus
from app.subflow_errors import LoopItemsError, LoopIterationError
from app.value_size import value_limit
from main_process.engine.driver import ExecutionDriver
from main_process.engine.inputs import resolve_inputs
from main_process.engine.node_context import node_env
from main_process.engine.node_running import NodeEnv
from main_process.engine.plan import Plan
from main_process.engine.state_manager import StateManager
from main_process.store import subflows as rows
from main_process.store.serialization import dumps

if TYPE_CHECKING:
    from main_process.engine.engine import Engine
    from main_process.nodes.base import NodeContext
    from main_process.nodes.subflow import LoopParams

#: Iteration rows written per transaction, at most.
BATCH_ROWS = 1000
#: ... and at most this long after the first of them finished (the monitor's lag).
BATCH_SECONDS = 0.25

_COMPLETED, _FAILED = NodeStatus.COMPLETED, NodeStatus.FAILED


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


class _Recorder:
    """Buffers finished iterations and writes them in batches."""

    def __init__(self, engine: Engine, execution_id: str, node_id: str) -> None:
        self.store = engine.store
        self.execution_id = execution_id
        self.node_id = node_id
        self.rows: list[rows.IterationRow] = []
        self.first_at = 0.0
        self.bytes = 0
        self.counts = {_COMPLETED: 0, _FAILED: 0}

    def add(self, index: int, status: NodeStatus, output: Any, error: ErrorInfo | None) -> None:
        self.counts[status] += 1
        out = dumps(output) if status is _COMPLETED else None
        if out is not None:
            self.bytes += len(out)
        if self.store is None:
            return
        err = None if error is None else dumps(error.model_dump(exclude_none=True))
        if not self.rows:
            self.first_at = time.monotonic()
        self.rows.append(
            rows.IterationRow(self.execution_id, self.node_id, index, status, out, err, time.time())
        )

    @property
    def due(self) -> bool:
        return bool(self.rows) and (
            len(self.rows) >= BATCH_ROWS or time.monotonic() - self.first_at >= BATCH_SECONDS
        )

    async def write(self) -> None:
        batch, self.rows = self.rows, []
        if batch and self.store is not None:
            await asyncio.to_thread(rows.write_iterations, self.store, batch)

    def write_now(self) -> None:
        """Write what is buffered from the loop (a cancelled run: no await left)."""
        batch, self.rows = self.rows, []
        if batch and self.store is not None:
            with contextlib.suppress(ConductorError):
                rows.write_iterations(self.store, batch)


class _Iterations:
    """Runs the body's plan once per item on in-memory drivers."""

    def __init__(self, env: NodeEnv, body: Blueprint, plan: Plan, label: str) -> None:
        self.env = env
        self.body = body
        self.plan = plan
        self.label = label
        self.states = StateManager(None, owner_id="loop", owner_pid=0, owner_host="")
        self.declared = set(body.inputs)
        self.concurrency = 1 if plan.sequential else 16

    async def run(self, index: int, item: Any) -> tuple[NodeStatus, Any, ErrorInfo | None]:
        given = {k: v for k, v in (("item", item), ("index", index)) if k in self.declared}
        try:
            inputs = resolve_inputs(self.body, given)
        except ConductorError as exc:
            return _FAILED, None, exc.to_info()
        env = self.env
        state = self.states.initialize_execution(
            self.body,
            inputs,
            {},
            blueprint_hash=self.plan.blueprint_hash,
            execution_id=f"{self.label}[{index}]",
        )
        try:
            ienv = NodeEnv(
                states=self.states,
                state=state,
                global_limit=env.global_limit,
                thread_pool=env.thread_pool,
                base_dir=env.base_dir,
                file_roots=env.file_roots,
                process_pool=env.process_pool,
                dask=env.dask,
                item=item,
                index=index,
            )
            driver = ExecutionDriver(self.plan, ienv, concurrency=self.concurrency)
            done = await driver.run()
        finally:
            self.states.release(state.execution_id)
        if done.status is ExecutionStatus.COMPLETED:
            return _COMPLETED, done.outputs, None
        ended = f"the body's run ended {done.status.value}"
        return _FAILED, None, done.error or ErrorInfo(type="LoopIterationError", message=ended)


async def run_loop(engine: Engine, ctx: NodeContext, params: LoopParams) -> Any:
    """The loop node's run: every item's body, results in item order."""
    from main_process.nodes.subflow import OnItemError

    items = params.items
    if not isinstance(items, list):
        raise LoopItemsError(
            f"items must be a list, got {_kind(items)}", where="params.items", node_id=ctx.node_id
        )
    env = node_env(ctx)
    eid, node_id = ctx.execution_id, ctx.node_id
    body = await engine.blueprint_ops.resolve(params.body, None)
    plan = await engine.blueprint_ops.plan_off_loop(body, body.engine_json())
    results: list[Any] = [None] * len(items)
    recorded: dict[int, Any] = {}
    if engine.store is not None:
        recorded = await asyncio.to_thread(rows.completed_iterations, engine.store, eid, node_id)
    for index, output in recorded.items():
        if index < len(results):
            results[index] = output
    todo = [i for i in range(len(items)) if i not in recorded]
    del recorded
    recorder = _Recorder(engine, eid, node_id)
    runner = _Iterations(env, body, plan, f"{eid}:{node_id}")
    errors: list[dict[str, Any]] = []
    failure: list[tuple[int, ErrorInfo]] = []
    size_limit = value_limit()
    mode = params.on_item_error
    pending: Iterator[int] = iter(todo)

    async def worker() -> None:
        for index in pending:
            if failure:
                return
            status, output, error = await runner.run(index, items[index])
            recorder.add(index, status, output, error)
            if status is _COMPLETED:
                results[index] = output
            elif error is not None:
                if mode is OnItemError.FAIL:
                    failure.append((index, error))
                elif mode is OnItemError.COLLECT:
                    errors.append({"index": index, "error": error.model_dump(exclude_none=True)})
            if recorder.bytes > size_limit:
                failure.append(
                    (index, ErrorInfo(type="ValueTooLarge", message="results exceed the limit"))
                )
            if recorder.due:
                await recorder.write()
                progress()

    def progress() -> None:
        """A log event per written batch: the monitor's cue to read the iterations."""
        done, failed = recorder.counts[_COMPLETED], recorder.counts[_FAILED]
        ctx.log(
            f"{done + failed} of {len(todo)} iterations run ({failed} failed)",
            loop={
                "done": done,
                "failed": failed,
                "total": len(items),
                "reused": len(items) - len(todo),
            },
        )

    width = max(1, min(params.concurrency, limit("loop_concurrency"), len(todo) or 1))
    try:
        if width == 1:
            await worker()
        else:
            async with asyncio.TaskGroup() as group:
                for _ in range(width):
                    group.create_task(worker())
        await recorder.write()
        progress()
    except BaseException:
        recorder.write_now()
        raise
    if failure:
        index, error = failure[0]
        if error.type == "ValueTooLarge":
            raise LoopIterationError(
                f"the loop's results exceed the value limit of {size_limit} bytes"
                " (--max-value-bytes)",
                node_id=node_id,
            )
        raise LoopIterationError(
            f"item {index} failed: {error.type}: {error.message}", node_id=node_id
        )
    if mode is OnItemError.COLLECT:
        errors.sort(key=lambda e: e["index"])
        return {"results": results, "errors": errors}
    return results
