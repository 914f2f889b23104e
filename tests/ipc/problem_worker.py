"""Misbehaving workers, for testing the process handle and the client (after
jupyter_client's ``problemkernel.py``).

Each function is an entry point with the real worker's signature, named to the
handle as ``"tests.ipc.problem_worker:<name>"``. They speak the protocol by hand
with blocking calls, and import nothing of the engine, so they start fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from app.operations import ProblemsReply
from ipc.errors import ProtocolError
from ipc.messages import (
    ErrorReply,
    EventsRequest,
    Heartbeat,
    Hello,
    Message,
    ReplyFrame,
    RequestFrame,
    decode,
    encode,
)
from ipc.protocol import PROTOCOL_VERSION


def _hello(conn: Connection) -> None:
    conn.send_bytes(encode(Hello(pid=os.getpid())))


def _requests(conn: Connection) -> Iterator[Message]:
    """Decoded messages until EOF; heartbeats are answered on the way."""
    while True:
        try:
            frame = conn.recv_bytes()
        except EOFError:
            return
        msg = decode(frame)
        if isinstance(msg, Heartbeat):
            conn.send_bytes(encode(msg))
            continue
        yield msg


def exit_at_start(conn: Connection, options: dict[str, Any]) -> None:
    """Dies before saying hello, like a worker whose imports fail."""
    os._exit(3)


def fail_to_start(conn: Connection, options: dict[str, Any]) -> None:
    """Says why it cannot start (as the real worker does when its engine won't open)."""
    error = ProtocolError("cannot open the store: disk on fire").to_info()
    conn.send_bytes(encode(ErrorReply(id=None, error=error)))
    os._exit(2)


def hello_from_the_future(conn: Connection, options: dict[str, Any]) -> None:
    """Greets in a protocol version the handle does not speak, then waits."""
    conn.send_bytes(f'{{"v":{PROTOCOL_VERSION + 1},"kind":"hello","pid":{os.getpid()}}}'.encode())
    threading.Event().wait()


def hang_at_start(conn: Connection, options: dict[str, Any]) -> None:
    """Never says hello."""
    threading.Event().wait()


def hello_only(conn: Connection, options: dict[str, Any]) -> None:
    """Says hello, answers heartbeats, never answers a request, exits on EOF.
    Its start-up time is the floor under the real worker's."""
    _hello(conn)
    for _ in _requests(conn):
        pass


def crash_on_request(conn: Connection, options: dict[str, Any]) -> None:
    """Serves heartbeats, and dies on the first request."""
    _hello(conn)
    for msg in _requests(conn):
        if isinstance(msg, RequestFrame | EventsRequest):
            os._exit(13)


def ignore_eof(conn: Connection, options: dict[str, Any]) -> None:
    """Says hello, then neither reads nor exits: the handle must stop it."""
    _hello(conn)
    threading.Event().wait()


def _raw(request_id: int, method: str) -> bytes:
    """A mischievous answer per method, each a different kind of bad frame."""
    v = PROTOCOL_VERSION
    head = f'{{"v":{v},"kind":"result","id":{request_id},"method":"{method}"'
    match method:
        case "node_types":  # valid JSON, wrong shape
            return (head + ',"result":"not a list"}').encode()
        case "list_blueprints":  # a protocol from the future
            return f'{{"v":{v + 1},"kind":"result","id":{request_id},"result":[]}}'.encode()
        case "get_blueprint":  # cut short
            return (head + ',"result":{"id":"x","no').encode()
        case "list_executions":  # a kind nobody knows
            return f'{{"v":{v},"kind":"gossip","id":{request_id}}}'.encode()
        case _:
            return encode(ReplyFrame(id=request_id, reply=ProblemsReply(result=[])))


def garbage_replies(conn: Connection, options: dict[str, Any]) -> None:
    """Before every answer sends a frame of pure garbage (no id to blame), then a bad
    answer chosen by the method (see ``_raw``); ``validate`` gets a proper one."""
    _hello(conn)
    for msg in _requests(conn):
        if isinstance(msg, RequestFrame):
            conn.send_bytes(b"\x00\xffnot json at all")
            conn.send_bytes(_raw(msg.id, msg.request.method))
