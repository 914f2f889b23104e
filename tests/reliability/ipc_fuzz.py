"""Thousands of malformed frames against ONE live worker, then proof it still serves.

The worker is the real one (``main_process.worker:serve`` in a ``spawn`` child), fed
raw frames over a plain ``multiprocessing.Pipe`` as the renderer's client would
never send them. After each frame a heartbeat goes out with a fresh id; the echo
marks the end of what the worker said about that frame (replies to bad frames and
echoes are posted in the order frames are read; answers to valid requests run as
tasks and may come later, so they are matched by id whenever they arrive). Every
read has a timeout: a worker that stops answering is a hang, EOF is a crash.

The driving is blocking socket I/O, so it runs on a thread; the public coroutine
keeps the event loop free for whatever else the caller runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import struct
import tempfile
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from app.errors import ConductorError, ErrorInfo, error_from_info
from app.operations import ExecuteRequest, ExecutionReply, NodeTypesReply, NodeTypesRequest
from ipc.errors import ProtocolError
from ipc.messages import (
    ErrorReply,
    Heartbeat,
    Hello,
    Message,
    ReplyFrame,
    RequestFrame,
    decode,
    encode,
)
from ipc.process import _parent_main_hidden
from main_process.worker import serve
from tests.reliability.figures import Figures
from tests.reliability.frame_cases import FrameCase, FrameMaker

#: The worker's frame limit in these runs: small, so oversized frames stay cheap.
FRAME_LIMIT = 64 * 1024
_PROBE_BASE = 10**15


def typed_problem(info: ErrorInfo) -> str | None:
    """Why an error reply is not a typed error naming what and where, or None."""
    rebuilt = error_from_info(info)
    if type(rebuilt) is ConductorError or rebuilt.type_name != info.type:
        return f"untyped error {info.type}: {info.message[:120]}"
    if not info.message:
        return f"{info.type} without a message"
    if not (info.where or info.node_id):
        return f"{info.type} names no place: {info.message[:120]}"
    return None


def spawn_worker(home: Path) -> tuple[Connection, BaseProcess]:
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    options = {"home": str(home), "plugins": False, "max_frame_bytes": FRAME_LIMIT}
    process = ctx.Process(target=serve, args=(child, options), daemon=True)
    # As the real handle does: spawn would re-run the caller's main script in the
    # child (a script without a __main__ guard never lets the worker say hello).
    with _parent_main_hidden():
        process.start()
    child.close()
    return conn, process


class _Driver:
    """Sends cases one by one and judges what comes back."""

    def __init__(self, conn: Connection, figures: Figures, timeout: float) -> None:
        self.conn = conn
        self.figures = figures
        self.timeout = timeout
        self.pending: dict[int, str] = {}  # request id -> the case that sent it
        self.probe = _PROBE_BASE

    def receive(self) -> Message | None:
        """The next message; None (and a recorded hang or crash) when there is none."""
        if not self.conn.poll(self.timeout):
            self.figures.hang(f"no answer within {self.timeout} s")
            return None
        try:
            raw = self.conn.recv_bytes()
        except (EOFError, OSError) as exc:
            self.figures.crash(f"the worker's pipe closed: {exc!r}")
            return None
        try:
            return decode(raw)
        except ProtocolError as exc:
            self.figures.untyped(f"the worker sent an undecodable frame: {exc}")
            return self.receive()

    def judge_error(self, label: str, msg: ErrorReply) -> None:
        problem = typed_problem(msg.error)
        if problem is not None:
            self.figures.untyped(f"{label}: {problem}")

    def settle(self, msg: Message, label: str) -> bool:
        """Account for an answer to an earlier valid request; True when it was one."""
        rid = getattr(msg, "id", None)
        if rid is None or rid not in self.pending:
            return False
        origin = self.pending.pop(rid)
        if isinstance(msg, ErrorReply):
            self.judge_error(origin, msg)
        return True

    def send(self, case: FrameCase) -> bool:
        """One case and its probe; False when the worker is gone or stuck."""
        try:
            self.conn.send_bytes(case.payload)
            self.probe += 1
            self.conn.send_bytes(encode(Heartbeat(id=self.probe)))
        except OSError as exc:
            self.figures.crash(f"{case.label}: cannot write to the worker: {exc!r}")
            return False
        rid = case.request_id
        if rid is not None and case.expect in ("reply", "any"):
            self.pending[rid] = f"{case.label} {case.payload[:100]!r}"
        said: list[Message] = []
        while True:
            msg = self.receive()
            if msg is None:
                self.figures.note(f"while answering a {case.label} frame {case.payload[:80]!r}")
                return False
            if isinstance(msg, Heartbeat) and msg.id == self.probe:
                break
            if not self.settle(msg, case.label):
                said.append(msg)
        if rid in self.pending and any(getattr(m, "id", 0) is None for m in said):
            del self.pending[rid]  # refused as a bad frame before its id could be read
        self.check(case, said)
        return True

    def check(self, case: FrameCase, said: list[Message]) -> None:
        errors = [m for m in said if isinstance(m, ErrorReply)]
        for msg in errors:
            self.judge_error(case.label, msg)
        others = [m for m in said if not isinstance(m, ErrorReply)]
        if case.expect == "protocol_error":
            kinds = [m.error.type for m in errors]
            if kinds != ["ProtocolError"] or others:
                self.figures.fail(
                    f"{case.label}: expected one ProtocolError, got {kinds} "
                    f"and {[m.kind for m in others]} for {case.payload[:80]!r}"
                )
        elif case.expect == "silent" and said:
            self.figures.fail(f"{case.label}: expected no reply, got {[m.kind for m in said]}")
        elif others and case.expect != "any":
            self.figures.fail(f"{case.label}: unexpected {[m.kind for m in others]}")

    def drain(self) -> None:
        """Wait for the answers to valid requests still outstanding."""
        deadline = time.monotonic() + self.timeout
        while self.pending and time.monotonic() < deadline:
            if not self.conn.poll(max(0.0, deadline - time.monotonic())):
                break
            msg = decode(self.conn.recv_bytes())
            self.settle(msg, "drain")
        for rid, label in self.pending.items():
            self.figures.hang(f"{label}: request {rid} never answered")

    def serves(self) -> bool:
        """A node-types call and a small execute, answered correctly."""
        bp = {"id": "after", "nodes": [{"id": "a", "type": "set", "params": {"value": 41}}]}
        self.conn.send_bytes(encode(RequestFrame(id=1, request=NodeTypesRequest())))
        self.conn.send_bytes(encode(RequestFrame(id=2, request=ExecuteRequest(blueprint=bp))))
        answers: dict[int, Message] = {}
        while len(answers) < 2:
            msg = self.receive()
            if msg is None:
                return False
            answers[getattr(msg, "id", -1)] = msg
        types, run = (
            frame.reply if isinstance(frame := answers.get(rid), ReplyFrame) else None
            for rid in (1, 2)
        )
        return (
            isinstance(types, NodeTypesReply)
            and bool(types.result)
            and isinstance(run, ExecutionReply)
            and run.result.success
            and run.result.outputs == 41
        )


def _close(conn: Connection, process: BaseProcess) -> int | None:
    conn.close()  # EOF: the worker exits by itself
    process.join(20)
    if process.is_alive():
        process.kill()
        process.join(5)
    return process.exitcode


def _drive_frames(n: int, seed: int, home: Path, timeout: float) -> dict[str, Any]:
    figures = Figures("ipc_frames")
    conn, process = spawn_worker(home)
    driver = _Driver(conn, figures, timeout)
    try:
        hello = driver.receive()
        if not isinstance(hello, Hello):
            figures.crash(f"the worker did not say hello: {hello!r}")
            return figures.result(worker_alive_after=False, serves_after=False)
        for case in FrameMaker(seed, FRAME_LIMIT).cases(n):
            figures.tried(case.label)
            if not driver.send(case):
                break
        else:
            driver.drain()
        alive = process.is_alive()
        serving = alive and figures.hangs == 0 and driver.serves()
    finally:
        code = _close(conn, process)
    if code != 0:
        figures.crash(f"the worker exited with {code} after EOF")
    return figures.result(worker_alive_after=alive, serves_after=serving, exit_code=code)


def _drive_corrupt_header(home: Path, timeout: float) -> str | None:
    """A negative length cannot be skipped (the stream is out of step for good): the
    worker must say so with a ProtocolError and leave cleanly, not crash or hang."""
    conn, process = spawn_worker(home)
    try:
        if not conn.poll(timeout) or not isinstance(decode(conn.recv_bytes()), Hello):
            return "no hello"
        os.write(conn.fileno(), struct.pack("!i", -5) + b"junk")
        if not conn.poll(timeout):
            return "no reply to a corrupt header"
        reply = decode(conn.recv_bytes())
        if not (isinstance(reply, ErrorReply) and reply.error.type == "ProtocolError"):
            return f"a corrupt header got {reply!r}"
        process.join(timeout)
        if process.exitcode != 0:
            return f"after a corrupt header the worker exited with {process.exitcode}"
        return None
    finally:
        _close(conn, process)


async def fuzz_ipc_frames(n: int, seed: int = 0, *, timeout: float = 20.0) -> dict[str, Any]:
    """``n`` varied frames (most malformed) to one live worker; figures of what happened.

    Returns ``cases``, ``crashes``, ``hangs``, ``untyped_errors``, ``wrong_answers``,
    ``worker_alive_after``, ``serves_after`` (a normal execute works afterwards),
    ``corrupt_header_ok``, ``by_label`` and the first ``failures``.
    """
    with tempfile.TemporaryDirectory(prefix="conductor-fuzz-") as tmp:
        started = time.perf_counter()
        home = Path(tmp) / "home"
        home.mkdir()
        figures = await asyncio.to_thread(_drive_frames, n, seed, home, timeout)
        trouble = await asyncio.to_thread(_drive_corrupt_header, home, timeout)
        figures["corrupt_header_ok"] = trouble is None
        if trouble is not None:
            figures["crashes"] += 1
            figures["failures"].append(f"corrupt header: {trouble}")
        figures["seconds"] = round(time.perf_counter() - started, 2)
        return figures
