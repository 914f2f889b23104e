"""The ``ipc`` transport against a REAL spawned worker: the same results as direct,
events in order and in bounded batches, cancel mid-run, bad frames answered with
typed protocol errors, and a SIGKILL mid-run survived by restart and resume."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app import (
    Blueprint,
    BlueprintError,
    BlueprintNotFoundError,
    Conductor,
    ExecutionNotFoundError,
    ExecutionResult,
    NodeSpec,
    create_conductor,
    create_simple_node,
)
from app.errors import ConfigError, error_from_info
from app.events import Event
from app.operations import NodeTypesReply, NodeTypesRequest, WaitRequest
from app.states import ExecutionStatus, NodeStatus
from ipc.client import IpcTransport
from ipc.errors import ProtocolError, WorkerDiedError
from ipc.messages import (
    ErrorReply,
    Hello,
    Message,
    ReplyFrame,
    RequestFrame,
    decode,
    encode,
)
from ipc.process import WorkerState, WorkerStatus
from ipc.protocol import PROTOCOL_VERSION
from main_process.worker import serve

ROOT = Path(__file__).resolve().parents[2]


def fn(name: str) -> str:
    return f"tests.node_functions:{name}"


def py(node_id: str, name: str) -> NodeSpec:
    return NodeSpec(id=node_id, type="python.function", params={"function": fn(name)})


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """Side-effect files the spawned worker inherits through its environment."""
    paths = {"log": tmp_path / "calls.log", "block": tmp_path / "block"}
    monkeypatch.setenv("CONDUCTOR_TEST_LOG", str(paths["log"]))
    monkeypatch.setenv("CONDUCTOR_TEST_BLOCK", str(paths["block"]))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    yield paths
    paths["block"].unlink(missing_ok=True)  # let blocked node threads finish


def calls(files: dict[str, Path]) -> list[str]:
    return files["log"].read_text().split() if files["log"].exists() else []


@pytest.fixture
def states() -> list[WorkerStatus]:
    return []


@pytest.fixture
async def ipc(
    home: Path, tmp_path: Path, files: dict[str, Path], states: list[WorkerStatus]
) -> AsyncIterator[Conductor]:
    c = create_conductor("ipc", home=home, base_dir=tmp_path, plugins=False, on_state=states.append)
    try:
        yield c
    finally:
        await c.close()


def transport(c: Conductor) -> IpcTransport:
    assert isinstance(c.transport, IpcTransport)
    return c.transport


async def wait_for_event(events: AsyncIterator[Event], node_id: str, status: str) -> None:
    async def find() -> None:
        async for event in events:
            if event.node_id == node_id and event.status == status:
                return
        raise AssertionError(f"{node_id} never became {status}")

    await asyncio.wait_for(find(), 20)


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    """Wait for a condition another process brings about (polled: no event to await)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def recorded(home: Path, eid: str, node_id: str) -> bool:
    """Whether the store (not just the worker's memory) has this node completed:
    what a SIGKILL leaves behind is only what was committed."""
    reader = create_conductor("direct", home=home, plugins=False)
    try:
        result = await reader.get_execution(eid)
    except ExecutionNotFoundError:
        return False
    finally:
        await reader.close()
    return result.nodes[node_id].status is NodeStatus.COMPLETED


async def committed_start(home: Path, eid: str, node_id: str) -> bool:
    """Whether the store has the node's ``running`` event (a start is committed with
    the next batch; a node's completion before its consumers start)."""
    from main_process.engine.engine import Engine

    engine = Engine(home, plugins=False)
    try:
        events = await engine.recorded_events(eid)
    except ExecutionNotFoundError:
        return False
    finally:
        await engine.close()
    return any(e.node_id == node_id and e.status is NodeStatus.RUNNING for e in events)


def shape(result: ExecutionResult) -> dict[str, Any]:
    """What must match across transports (ids and timings differ by nature)."""
    return {
        "status": result.status,
        "success": result.success,
        "outputs": result.outputs,
        "error": result.error and (result.error.type, result.error.node_id, result.error.message),
        "inputs": result.inputs,
        "hash": result.blueprint_hash,
        "nodes": {
            k: (n.status, n.attempts, n.output, n.port, n.error and n.error.type)
            for k, n in result.nodes.items()
        },
    }


async def test_same_results_as_direct(ipc: Conductor, tmp_path: Path) -> None:
    direct = create_conductor("direct", home=tmp_path / "direct", base_dir=tmp_path, plugins=False)
    dag = {
        "id": "dag",
        "inputs": {"n": {"type": "integer", "default": 3}},
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": {"x": "{{ inputs.n }}"}}},
            {"id": "b", "type": "json.transform", "params": {"expression": "x"}},
            {
                "id": "c",
                "type": "python.function",
                "params": {"function": fn("boom")},
                "on_error": "continue",
            },
            {"id": "d", "type": "merge", "when": "all_done"},
        ],
        "edges": [
            {"source": "a", "target": "b"},
            {"source": "a", "target": "c"},
            {"source": "b", "target": "d"},
            {"source": "c", "target": "d"},
        ],
    }
    chain = {
        "id": "chain",
        "nodes": [
            {"id": f"n{i}", "type": "set", "params": {"value": {"i": i, "prev": "{{ input }}"}}}
            for i in range(10)
        ],
    }
    failing = {
        "id": "failing",
        "nodes": [{"id": "x", "type": "python.function", "params": {"function": fn("boom")}}],
    }
    runs: list[dict[str, Any]] = [
        {"blueprint": dag, "inputs": {"n": 7}},
        {"blueprint": chain},
        {"blueprint": failing},
        {"blueprint_id": "branch", "inputs": {"amount": 50}},
        {"blueprint_id": "branch"},
        {"blueprint_id": "fan-out-fan-in"},
        {"blueprint_id": "large-items", "inputs": {"count": 3000}},
    ]
    try:
        for run in runs:
            expected = await direct.execute(**run)
            got = await ipc.execute(**run)
            assert shape(got) == shape(expected), run
        assert await ipc.node_types() == await direct.node_types()
    finally:
        await direct.close()


async def test_events_are_contiguous_and_replayable(ipc: Conductor) -> None:
    bp = Blueprint(
        id="steps",
        nodes=[NodeSpec(id=f"s{i}", type="set", params={"value": i}) for i in range(40)],
    )
    eid = await ipc.start(blueprint=bp)
    live = [e async for e in ipc.events(eid)]
    assert [e.seq for e in live] == list(range(1, len(live) + 1))
    assert live[-1].is_terminal and live[-1].status == "completed"
    assert all(e.execution_id == eid for e in live)
    assert [e async for e in ipc.events(eid, after_seq=10)] == live[10:]
    with pytest.raises(ExecutionNotFoundError):
        _ = [e async for e in ipc.events("no-such-execution")]


async def test_cancel_while_a_wait_is_pending(ipc: Conductor, files: dict[str, Path]) -> None:
    files["block"].touch()
    bp = Blueprint(
        id="slow", nodes=[py("a", "record"), py("b", "block_while_file"), py("c", "record")]
    )
    eid = await ipc.start(blueprint=bp)
    waiter = asyncio.ensure_future(ipc.wait(eid))
    await wait_for_event(ipc.events(eid), "b", "running")
    assert not waiter.done()
    assert await ipc.cancel(eid) is True
    result = await asyncio.wait_for(waiter, 10)
    assert result.status is ExecutionStatus.CANCELLED
    assert result.nodes["a"].status is NodeStatus.COMPLETED
    assert result.nodes["c"].status is not NodeStatus.COMPLETED
    assert await ipc.cancel(eid) is False


async def test_errors_and_library_calls_cross_typed(ipc: Conductor) -> None:
    with pytest.raises(ExecutionNotFoundError):
        await ipc.get_execution("nope")
    bad = {"id": "bad", "nodes": [{"id": "a", "type": "no.such.type"}, {"id": "a", "type": "set"}]}
    with pytest.raises(BlueprintError) as info:
        await ipc.execute(blueprint=bad)
    assert len(info.value.problems) >= 2
    problems = await ipc.validate(bad)
    assert {p.where for p in problems} == {p.where for p in info.value.problems}
    good = Blueprint(id="kept", nodes=[NodeSpec(id="a", type="set", params={"value": 1})])
    saved = await ipc.save_blueprint(good)
    assert saved.id == "kept" and saved.source == "user"
    assert "kept" in {b.id for b in await ipc.list_blueprints()}
    assert (await ipc.get_blueprint("kept")).content_hash() == good.content_hash()
    result = await ipc.execute(blueprint_id="kept")
    assert [s.execution_id for s in await ipc.list_executions()] == [result.execution_id]
    await ipc.delete_blueprint("kept")
    with pytest.raises(BlueprintNotFoundError):
        await ipc.get_blueprint("kept")
    code_defined = Blueprint(id="code", nodes=[create_simple_node("f", "double", lambda x: x)])
    with pytest.raises(ConfigError, match="code-defined"):
        await ipc.execute(blueprint=code_defined)
    with pytest.raises(ConfigError) as bad_option:
        create_conductor("ipc", colour="blue")
    assert bad_option.value.where == "colour"


async def test_a_slow_consumer_holds_only_its_window(
    home: Path, tmp_path: Path, files: dict[str, Path]
) -> None:
    c = create_conductor("ipc", home=home, base_dir=tmp_path, plugins=False, event_window=1)
    try:
        bp = Blueprint(
            id="many",
            nodes=[NodeSpec(id=f"s{i}", type="set", params={"value": i}) for i in range(300)],
        )
        eid = await c.start(blueprint=bp)
        events = c.events(eid)
        first = await anext(events)  # then stop reading while the run finishes
        assert first.seq == 1
        done = await c.wait(eid)
        (sub,) = transport(c)._subs.values()
        assert sub.high_water <= 1  # the worker paused instead of sending it all
        rest = [e async for e in events]
        seqs = [first.seq] + [e.seq for e in rest]
        assert seqs == list(range(1, len(seqs) + 1))  # the pause lost nothing
        assert len(seqs) > 600 and rest[-1].status == done.status == "completed"
    finally:
        await c.close()


async def test_sigkill_mid_run_fails_calls_restarts_and_resumes(
    ipc: Conductor, home: Path, files: dict[str, Path], states: list[WorkerStatus]
) -> None:
    files["block"].touch()
    bp = Blueprint(
        id="crashy",
        nodes=[
            py("n1", "record"),
            py("n2", "record"),
            py("n3", "block_while_file"),
            py("n4", "record"),
            py("n5", "record"),
        ],
    )
    await ipc.save_blueprint(bp)
    eid = await ipc.start(blueprint_id="crashy")
    events = ipc.events(eid)
    await wait_for_event(events, "n3", "running")
    await until(lambda: recorded(home, eid, "n2"))
    # A node's start is committed with the next batch (its completion at once, before
    # its consumers start): what the kill leaves is only what is committed.
    await until(lambda: committed_start(home, eid, "n3"))
    waiter = asyncio.ensure_future(ipc.wait(eid))
    follower = asyncio.ensure_future(anext(events))
    old_pid = transport(ipc).process.pid
    assert old_pid is not None

    killed = time.perf_counter()
    os.kill(old_pid, signal.SIGKILL)
    with pytest.raises(WorkerDiedError, match="SIGKILL"):
        await asyncio.wait_for(waiter, 5)
    noticed = time.perf_counter() - killed
    with pytest.raises(WorkerDiedError):
        await asyncio.wait_for(follower, 5)
    assert noticed < 1.0
    files["block"].unlink()

    interrupted = await ipc.get_execution(eid)  # waits for the restarted worker
    assert transport(ipc).process.pid not in (None, old_pid)
    assert interrupted.status is ExecutionStatus.INTERRUPTED
    assert interrupted.nodes["n2"].status is NodeStatus.COMPLETED
    assert interrupted.nodes["n3"].status is NodeStatus.CANCELLED
    seen = [s.state for s in states]
    assert seen[:2] == [WorkerState.STARTING, WorkerState.READY]
    assert seen[2:] == [
        WorkerState.DEAD,
        WorkerState.RESTARTING,
        WorkerState.STARTING,
        WorkerState.READY,
    ]

    result = await ipc.resume(eid)
    assert result.success, result.error
    assert result.outputs == {"step": 5}
    assert calls(files) == ["1", "2", "3", "4", "5"]  # n1 and n2 did not run again
    after = [e async for e in ipc.events(eid)]
    assert [e.seq for e in after] == list(range(1, len(after) + 1))


async def test_close_interrupts_running_executions(
    home: Path, tmp_path: Path, files: dict[str, Path], states: list[WorkerStatus]
) -> None:
    files["block"].touch()
    c = create_conductor("ipc", home=home, plugins=False, on_state=states.append)
    eid = await c.start(blueprint=Blueprint(id="stuck", nodes=[py("a", "block_while_file")]))
    await wait_for_event(c.events(eid), "a", "running")
    process = transport(c).process
    await c.close()  # the worker closes its engine on EOF and exits, blocked node or not
    assert states[-1].state is WorkerState.CLOSED
    assert process.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    direct = create_conductor("direct", home=home, plugins=False)
    try:
        assert (await direct.get_execution(eid)).status is ExecutionStatus.INTERRUPTED
    finally:
        await direct.close()


def test_bad_frames_get_typed_protocol_errors_and_the_worker_keeps_serving(home: Path) -> None:
    """Raw bytes straight onto the real worker's pipe."""
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    options = {"home": str(home), "plugins": False, "max_frame_bytes": 64 * 1024}
    process = ctx.Process(target=serve, args=(child, options), daemon=True)
    process.start()
    child.close()

    def receive() -> Message:
        assert conn.poll(30), "the worker did not answer"
        return decode(conn.recv_bytes())

    def protocol_error(frame: bytes) -> ErrorReply:
        conn.send_bytes(frame)
        reply = receive()
        assert isinstance(reply, ErrorReply), reply
        assert isinstance(error_from_info(reply.error), ProtocolError), reply.error
        return reply

    try:
        assert isinstance(receive(), Hello)
        v = PROTOCOL_VERSION
        assert protocol_error(b"\x00\xff garbage").id is None
        wait = RequestFrame(id=11, request=WaitRequest(execution_id="e"))
        assert protocol_error(encode(wait)[:-9]).id == 11
        big = RequestFrame(id=12, request=WaitRequest(execution_id="x" * 100_000))
        oversized = protocol_error(encode(big))
        assert oversized.id == 12 and "exceeds" in oversized.error.message
        unknown = protocol_error(f'{{"v":{v},"kind":"gossip","id":13}}'.encode())
        assert unknown.id == 13 and unknown.error.where == "frame.kind"
        future = protocol_error(f'{{"v":{v + 1},"kind":"request","id":14}}'.encode())
        assert future.id == 14 and future.error.where == "frame.v"
        assert protocol_error(encode(Hello(pid=1))).error.message.startswith("a hello")
        conn.send_bytes(encode(RequestFrame(id=15, request=NodeTypesRequest())))
        frame = receive()
        assert isinstance(frame, ReplyFrame) and frame.id == 15
        reply = frame.reply
        assert isinstance(reply, NodeTypesReply) and reply.result
    finally:
        conn.close()  # EOF: the worker exits by itself
        process.join(20)
    assert process.exitcode == 0
