"""The owner's side of cross-process control: acting on recorded requests.

A process that does not own an execution records what it asks of it in the store
(:mod:`main_process.store.control`). Each engine runs one watcher: a few times a
second, and only while the engine has active executions, it takes the requests
for its executions, in a thread (the store blocks), and hands each to the
engine, which acts on it as on a local call. An engine with nothing active does
no I/O at all; a request for an execution that finished meanwhile is answered by
the engine's own rules (cancelling a finished run does nothing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from app.errors import ConductorError
from main_process.store import Store
from main_process.store.control import ControlRequest, take_control_requests

log = logging.getLogger(__name__)

#: How often an engine with active executions looks for requests.
CHECK_SECONDS = 0.25


class ControlWatcher:
    """Takes this owner's control requests and passes them to ``act``."""

    def __init__(
        self,
        store: Store,
        owner_id: str,
        *,
        has_active: Callable[[], bool],
        act: Callable[[ControlRequest], Awaitable[object]],
        interval: float = CHECK_SECONDS,
    ) -> None:
        self._store = store
        self._owner_id = owner_id
        self._has_active = has_active
        self._act = act
        self.interval = interval

    async def run(self) -> None:
        """Check every :attr:`interval` seconds while there is something to control."""
        while True:
            await asyncio.sleep(self.interval)
            if self._has_active():
                await self.check()

    async def check(self) -> int:
        """Take and act on the pending requests once; returns how many there were."""
        try:
            requests = await asyncio.to_thread(take_control_requests, self._store, self._owner_id)
        except ConductorError as exc:
            log.warning("could not read control requests: %s", exc)
            return 0
        for request in requests:
            try:
                await self._act(request)
            except ConductorError as exc:
                log.warning(
                    "control request %s for execution %s failed: %s",
                    request.action,
                    request.execution_id,
                    exc,
                )
        return len(requests)
