"""Slow request headers time out: uvicorn's h11 protocol with a header deadline.

uvicorn closes a connection that idles between requests, but not one that sends
its request headers a byte a minute (slowloris): each such connection holds a socket
and a protocol object for as long as the client likes. This protocol gives every
request's headers :func:`header_timeout` seconds from the first byte (or from the
connection, for the first request) and closes the connection when they are not all
in by then. Bodies are bounded by the request guard's size limit, not here.

It also hands each request's transport to the app, in the scope's
``extensions`` (:data:`main_process.http.sse_budget.EXTENSION`): the event-stream
budget needs to see, and may abort, what a stalled client's connection buffers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.limits import setting
from main_process.http.sse_budget import EXTENSION


def header_timeout() -> float:
    """Seconds a client has to send a request's headers (``$CONDUCTOR_HEADER_TIMEOUT``)."""
    return setting("header_timeout")


class HeaderTimeoutProtocol(H11Protocol):
    """H11Protocol that closes a connection whose request headers arrive too slowly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of a next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the headers are in (or the request failed and was answered)

    def handle_events(self) -> None:
        scope = self.scope
        super().handle_events()
        if self.scope is not scope:  # a request's headers were parsed: a new scope
            extensions = self.scope.setdefault("extensions", {})
            extensions[EXTENSION] = {"transport": self.transport}

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(header_timeout(), self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
