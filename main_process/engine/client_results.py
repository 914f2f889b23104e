"""Results as a client gets them: large outputs replaced by handles.

The engine's own callers (a ``blueprint.call`` node reading its child's outputs, the
template preview, error handlers) get whole results from the engine's methods. What
leaves through an operation — the direct transport, the pipe worker (both through
:func:`main_process.direct.dispatch`) and the HTTP routes — goes through this module
first, so every transport answers with the same shape (see :mod:`app.output_handles`).

A finished execution read back from the store for a client is loaded with its
spilled outputs left in their files (:class:`~main_process.store.history.SpilledOutput`):
each is read, turned into its handle and dropped before the next, so the engine side
holds one large output at a time for a moment, never the whole result, and never
its serialised copy.
"""

from __future__ import annotations

import asyncio
from itertools import islice
from typing import Any

from app.errors import ErrorInfo, ExecutionNotFoundError, OutputUnavailableError
from app.output_handles import (
    EXECUTION_OUTPUTS,
    PREVIEW_ITEMS,
    OutputHandle,
    inline_limit,
    is_stream_summary,
    json_size,
    make_handle,
    stream_brief,
    stream_handle,
    stream_record,
)
from app.results import ExecutionResult, NodeResult
from main_process.engine.engine import Engine
from main_process.store import Store, history
from main_process.store.history import SpilledOutput
from main_process.store.recovery import recover_orphans


def with_handles(result: ExecutionResult, limit: int) -> ExecutionResult:
    """``result`` with its outputs over ``limit`` bytes, and every streamed output, as
    handles (a copy when any is; ``result`` itself when none is: the common case, an
    attribute read a node).

    Sizes recorded by the engine decide without measuring; a value that is both a
    node's output and the execution's ``outputs`` (a sequential run's last node) is
    judged once. ``outputs`` that is a node's stream summary becomes that node's
    stream handle (so its pages are the stream's, see :mod:`app.output_handles`).
    """
    eid = result.execution_id
    outputs = result.outputs
    outputs_size: int | None = None
    changed: dict[str, NodeResult] = {}
    outputs_shown: Any = outputs
    streams: dict[tuple[Any, ...], OutputHandle] = {}
    for node_id, node in result.nodes.items():
        size = node.output_size  # recorded: no measuring again
        value = node.output
        if value is outputs and value is not None:
            outputs_size = size
        shown: Any = stream_handle(eid, node_id, value)
        if shown is not None:
            streams.setdefault(_stream_key(value), shown)
        elif isinstance(value, OutputHandle) and value.is_stream:
            streams.setdefault(_stream_key(value), value)  # read back from a spilled file
            continue
        elif size is not None and size <= limit:  # small: inline
            continue
        else:
            shown = make_handle(eid, node_id, value, limit, size)
        if shown is not value:
            changed[node_id] = node.model_copy(update={"output": shown})
            if value is outputs:
                stream = isinstance(shown, OutputHandle) and shown.is_stream
                outputs_shown = shown if stream else shown.model_copy(update=_AS_OUTPUTS)
    if outputs_shown is outputs:
        outputs_shown = _outputs_shown(eid, outputs, streams, limit, outputs_size)
    if not changed and outputs_shown is outputs:
        return result
    nodes = {nid: changed.get(nid, node) for nid, node in result.nodes.items()}
    return result.model_copy(update={"nodes": nodes, "outputs": outputs_shown})


_AS_OUTPUTS = {"node_id": EXECUTION_OUTPUTS}


def _stream_key(value: Any) -> tuple[Any, ...]:
    """What tells one node's stream from another's: its counts and how it was recorded
    (from its summary, or from the handle made of it)."""
    if isinstance(value, OutputHandle):
        return (value.count, value.size_bytes, value.record)
    record = stream_record(value) or {}
    return (record.get("items"), record.get("bytes"), record.get("record"))


def _outputs_shown(
    eid: str,
    outputs: Any,
    streams: dict[tuple[Any, ...], OutputHandle],
    limit: int,
    size: int | None,
) -> Any:
    """The execution's ``outputs`` as a result shows it: the stream handle of the node
    whose summary it is; a handle of ``outputs`` when it names a stream among other
    values (its preview shows each stream briefly); else as :func:`make_handle` says."""
    if is_stream_summary(outputs):
        handle = streams.get(_stream_key(outputs))
        if handle is not None:
            return handle
        stream = stream_handle(eid, EXECUTION_OUTPUTS, outputs)  # no node's: page it whole
        assert stream is not None
        return stream
    if isinstance(outputs, dict) and any(is_stream_summary(v) for v in outputs.values()):
        return OutputHandle(
            execution_id=eid,
            node_id=EXECUTION_OUTPUTS,
            size_bytes=size if size is not None else json_size(outputs),
            value_type="object",
            count=len(outputs),
            preview={str(k): stream_brief(v) for k, v in islice(outputs.items(), PREVIEW_ITEMS)},
        )
    return make_handle(eid, EXECUTION_OUTPUTS, outputs, limit, size)


def client_result(
    engine: Engine, result: ExecutionResult, include_node_outputs: bool
) -> ExecutionResult:
    """``result`` as an operation answers it: large outputs as handles, unless the
    caller asked for them inline or the engine records nothing to page them from."""
    if include_node_outputs or engine.store is None:
        return result
    return with_handles(result, inline_limit())


async def client_execution(
    engine: Engine, execution_id: str, include_node_outputs: bool
) -> ExecutionResult:
    """``get_execution`` for a client: an active execution from memory, a finished one
    from the store without holding its large outputs together (see the module docs)."""
    store = engine.store
    active = engine.states.get_active(execution_id) is not None
    if include_node_outputs or store is None or active:
        result = await engine.get_execution(execution_id)
        return client_result(engine, result, include_node_outputs)
    # As Engine.get_execution does for a stored execution: recover it if its owner
    # died, start the error handler it is owed, then read it.
    await asyncio.to_thread(recover_orphans, store, engine.owner_id, execution_id)
    await engine.handlers.sweep(execution_id)
    return await asyncio.to_thread(_stored_result, store, execution_id, inline_limit())


async def client_wait(
    engine: Engine, execution_id: str, include_node_outputs: bool
) -> ExecutionResult:
    """``wait`` for a client (as :meth:`Engine.wait`, the result read as above)."""
    result = await engine.runs.wait(execution_id)
    if result is not None:
        return client_result(engine, result, include_node_outputs)
    if engine.store is not None:
        await engine.store.flush()  # a run whose task was cancelled: read its last record
    result = await client_execution(engine, execution_id, include_node_outputs)
    if not result.status.is_terminal:
        raise ExecutionNotFoundError(
            f"execution {execution_id!r} is running in another process", where="execution_id"
        )
    return result


def _stored_result(store: Store, execution_id: str, limit: int) -> ExecutionResult:
    state = history.load_execution(store, execution_id, spilled=False)
    for node in state.nodes.values():
        if not isinstance(node.output, SpilledOutput):
            continue
        spilled, node.output = node.output, None
        try:
            value = spilled.read()
        except OutputUnavailableError as exc:
            # As a full load shows it: that node's output unavailable, its error says why.
            node.error = ErrorInfo(**exc.to_info().model_dump())
            continue
        shown = stream_handle(execution_id, node.node_id, value)
        if shown is None:
            shown = make_handle(execution_id, node.node_id, value, limit, node.output_size)
        node.output = shown
        del value  # one large output held at a time
    return with_handles(state.to_result(), limit)
