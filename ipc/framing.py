"""Frames on the pipe: a reader thread and a writer thread per end.

The bytes are multiprocessing's own framing (a 4-byte big-endian length, or -1
and an 8-byte length, then the payload), so a peer may use ``Connection.send_bytes``
and ``recv_bytes`` (the tests' raw frames and the misbehaving workers do). Reading
is ours, for two reasons:

* ``Connection.recv_bytes(maxlength)`` refuses an oversized frame by making the
  connection unreadable, so one bad frame would end the conversation. The reader
  here discards an oversized payload in chunks (never holding it) and reports it,
  keeping the stream in step, so the receiver answers with a protocol error and
  goes on serving.
* It reads in large chunks, so a burst of small frames costs one system call.

The reader thread hands each decoded message to the asyncio loop with
``call_soon_threadsafe``, which works under plain asyncio and under qasync alike.
The writer writes at once when the socket has room and otherwise queues to its
thread, whose bounded queue makes a peer that stops reading stall the senders
(back-pressure) instead of growing memory; either way the loop never blocks.

Assumes a Unix ``multiprocessing.Pipe`` (a socket pair with a file descriptor).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import select
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from ipc.errors import ProtocolError
from ipc.frame_errors import oversized_error
from ipc.messages import Message, decode, prepare_decoding

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024


@dataclass(frozen=True)
class OversizedFrame:
    """A frame that was too large and was skipped; ``prefix`` is its first bytes."""

    size: int
    prefix: bytes


class FrameReader:
    """Blocking reads of whole frames from a pipe's file descriptor.

    With ``sentinel`` (a process sentinel), a read also ends when that process
    exits, even if something else still holds the other end of the pipe open.
    """

    def __init__(self, conn: Connection, max_bytes: int, sentinel: int | None = None) -> None:
        self._fd = conn.fileno()
        self._max = max_bytes
        self._buf = bytearray()
        self._poll: select.poll | None = None
        if sentinel is not None:
            self._poll = select.poll()
            self._poll.register(self._fd, select.POLLIN)
            self._poll.register(sentinel, select.POLLIN)

    def read(self) -> bytes | OversizedFrame:
        """The next frame; EOFError when the other end is gone."""
        (size,) = struct.unpack("!i", self._take(4))
        if size == -1:
            (size,) = struct.unpack("!Q", self._take(8))
        if size < 0:
            raise ProtocolError(f"corrupt frame header (length {size})", where="frame")
        if size > self._max:
            return self._skip(size)
        return self._take(size)

    def _fill(self, want: int) -> None:
        try:
            if self._poll is not None and self._fd not in {fd for fd, _ in self._poll.poll()}:
                raise EOFError("the worker process exited")
            chunk = os.read(self._fd, max(_CHUNK, want))
        except (OSError, ValueError) as exc:  # the fd was closed under us
            raise EOFError(str(exc)) from exc
        if not chunk:
            raise EOFError("the pipe was closed")
        self._buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill(n - len(self._buf))
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _skip(self, size: int) -> OversizedFrame:
        prefix = bytes(self._buf[:128])
        left = size
        while left:
            if not self._buf:
                self._fill(min(left, _CHUNK))
            taken = min(left, len(self._buf))
            if len(prefix) < 128:
                prefix += bytes(self._buf[: min(taken, 128 - len(prefix))])
            del self._buf[:taken]
            left -= taken
        return OversizedFrame(size, prefix)


def start_reader(
    conn: Connection,
    loop: asyncio.AbstractEventLoop,
    *,
    max_bytes: int,
    on_message: Callable[[Message], None],
    on_bad_frame: Callable[[ProtocolError], None],
    on_eof: Callable[[], None],
    sentinel: int | None = None,
    before_eof: Callable[[], None] | None = None,
    name: str = "conductor-pipe-reader",
    prepare: bool = False,
) -> threading.Thread:
    """Read and decode frames on a thread, handing each to the loop in order.

    A frame that does not decode goes to ``on_bad_frame`` and reading goes on; a
    corrupt header (the stream is out of step) ends reading like EOF does.
    ``before_eof`` runs on the thread first (the process handle reaps the child
    there, so the exit code is known when ``on_eof`` runs). ``prepare``: build the
    decoder before the first frame comes (the process handle's reader, while its
    worker starts) rather than when it comes.
    """
    reader = FrameReader(conn, max_bytes, sentinel)

    def post(callback: Callable[..., None], *args: object) -> bool:
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            return False
        return True

    def run() -> None:
        if prepare:
            with contextlib.suppress(Exception):  # else built, and reported, on first use
                prepare_decoding()
        while True:
            try:
                frame = reader.read()
            except EOFError:
                break
            except ProtocolError as exc:
                post(on_bad_frame, exc)
                break
            if isinstance(frame, OversizedFrame):
                alive = post(on_bad_frame, oversized_error(frame.size, frame.prefix, max_bytes))
            else:
                try:
                    msg = decode(frame, max_bytes=max_bytes)
                except ProtocolError as exc:
                    alive = post(on_bad_frame, exc)
                except Exception as exc:  # a decoder bug must not leave this end deaf
                    log.exception("a frame could not be decoded")
                    message = f"the frame could not be read ({type(exc).__name__}: {exc})"
                    alive = post(on_bad_frame, ProtocolError(message, where="frame"))
                else:
                    alive = post(on_message, msg)
            if not alive:
                return
        if before_eof is not None:
            before_eof()
        post(on_eof)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def _header(size: int) -> bytes:
    """multiprocessing's length prefix, so ``Connection.recv_bytes`` reads our frames."""
    if size > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, size)
    return struct.pack("!i", size)


def _after(parts: list[memoryview], sent: int) -> list[memoryview]:
    """What is left of ``parts`` once ``sent`` bytes of them went out."""
    rest = []
    for part in parts:
        if sent >= len(part):
            sent -= len(part)
            continue
        rest.append(part[sent:])
        sent = 0
    return rest


class FrameWriter:
    """Sends frames without ever blocking the event loop.

    When nothing is queued ahead, a frame is written at once from the loop's thread
    with a non-blocking ``sendmsg`` (no thread hop: the common case, and what keeps
    a round trip cheap). Whatever does not fit in the socket buffer goes to a writer
    thread through a queue: :meth:`send` waits (asynchronously) for one of
    ``capacity`` slots there, so a peer that stops reading stalls the senders
    (back-pressure) instead of growing memory. :meth:`post` skips the slot count,
    for small control frames that must never wait (credits, abandons, heartbeats).
    Frames stay in order: the fast path is taken only when the thread has written
    everything queued before. After the peer is gone, frames are dropped.
    """

    def __init__(
        self,
        conn: Connection,
        loop: asyncio.AbstractEventLoop,
        *,
        capacity: int = 64,
        name: str = "conductor-pipe-writer",
    ) -> None:
        self._sock = socket.socket(fileno=os.dup(conn.fileno()))
        self._loop = loop
        self._slots = asyncio.Semaphore(capacity)
        self._queue: queue.SimpleQueue[tuple[list[memoryview], bool] | None] = queue.SimpleQueue()
        # Frames handed to the thread, and frames it has finished: each counter is
        # written by one thread only, so their difference is the backlog.
        self._queued = 0
        self._written = 0
        self._lock = threading.Lock()  # held by whoever is writing to the socket
        self._closed = False
        self.broken = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def send(self, frame: bytes) -> None:
        if self._closed:
            return
        parts = [memoryview(_header(len(frame))), memoryview(frame)]
        if self._write_now(parts):
            return
        await self._slots.acquire()
        if self.closed:  # closed while waiting for the slot
            self._slots.release()
            return
        self._enqueue(parts, slotted=True)

    def post(self, frame: bytes) -> None:
        if self._closed:
            return
        parts = [memoryview(_header(len(frame))), memoryview(frame)]
        if not self._write_now(parts):
            self._enqueue(parts, slotted=False)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop after the frames already queued are written (or dropped)."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _enqueue(self, parts: list[memoryview], *, slotted: bool) -> None:
        self._queued += 1
        self._queue.put((parts, slotted))

    def _write_now(self, parts: list[memoryview]) -> bool:
        """Write from this thread if nothing is queued ahead; True when handled (the
        unsent rest, if any, is queued first in line for the thread)."""
        if self._queued != self._written or not self._lock.acquire(blocking=False):
            return False
        try:
            if self.broken:
                return True
            try:
                sent = self._sock.sendmsg(parts, [], socket.MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.broken = True
                return True
            rest = _after(parts, sent)
            if rest:
                self._enqueue(rest, slotted=False)
            return True
        finally:
            self._lock.release()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            parts, slotted = item
            with self._lock:
                if not self.broken:
                    try:
                        for part in parts:
                            self._sock.sendall(part)
                    except OSError:
                        self.broken = True
                self._written += 1
            if slotted:
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    self._loop.call_soon_threadsafe(self._slots.release)
        self._sock.close()


def shutdown_write(conn: Connection) -> None:
    """Half-close the pipe: the peer reads EOF after the frames already sent, while
    this end can still read what the peer says before it exits."""
    with contextlib.suppress(OSError, ValueError):
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            sock.shutdown(socket.SHUT_WR)
        finally:
            sock.close()


def shutdown_both(conn: Connection) -> None:
    """Wake a reader thread blocked on this end (it reads EOF), before closing the fd."""
    with contextlib.suppress(OSError, ValueError):
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
