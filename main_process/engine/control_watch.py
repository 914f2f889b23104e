"""The owner's side of cross-process control: acting on recorded requests.

A process that does not own an execution records what it asks of it in the store
(:mod:`main_process.store.control`). Each engine runs one watcher: a few times a
second, and only while the engine has active executions, it takes the requests
for its executions, in a thread (the store blocks), and calls the engine's own
``cancel``/``pause``/``resume`` as for a local caller. An engine with nothing
active does no I/O at all; a request for an execution that finished meanwhile is
dropped. The asking side is :func:`ask_owner`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, assert_never

from app.errors import ConductorError
from app.states import ExecutionStatus
from main_process.store import Store
from main_process.store.control import (
    ControlAction,
    control_target,
    request_control,
    take_control_requests,
)
from main_process.store.recovery import owner_alive

log = logging.getLogger(__name__)

#: How often an engine with active executions looks for requests.
CHECK_SECONDS = 0.25


#: What the watcher calls for a request: an engine method taking the execution id.
Act = Callable[[str], Awaitable[object]]


class _Runs(Protocol):
    """The executions this engine runs: asked only whether there are any, and by id."""

    def __contains__(self, execution_id: object, /) -> bool: ...

    def __len__(self) -> int: ...


class ControlWatcher:
    """Takes this owner's control requests and calls the engine's own methods."""

    def __init__(
        self,
        store: Store,
        owner_id: str,
        *,
        runs: _Runs,
        cancel: Act,
        pause: Act,
        resume: Act,
        interval: float = CHECK_SECONDS,
    ) -> None:
        self._store = store
        self._owner_id = owner_id
        self._runs = runs
        self._cancel = cancel
        self._pause = pause
        self._resume = resume
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """Start watching on the running loop (again, if a previous task ended)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        """Check every :attr:`interval` seconds while there is something to control."""
        while True:
            await asyncio.sleep(self.interval)
            if self._runs:
                await self.check()

    async def check(self) -> int:
        """Take and act on the pending requests once; returns how many there were."""
        try:
            requests = await asyncio.to_thread(take_control_requests, self._store, self._owner_id)
        except ConductorError as exc:
            log.warning("could not read control requests: %s", exc)
            return 0
        for request in requests:
            if request.execution_id not in self._runs:
                continue  # it finished meanwhile: nothing to act on
            try:
                await self._act(request.action)(request.execution_id)
            except ConductorError as exc:
                log.warning(
                    "control request %s for execution %s failed: %s",
                    request.action,
                    request.execution_id,
                    exc,
                )
        return len(requests)

    def _act(self, action: ControlAction) -> Act:
        match action:
            case ControlAction.CANCEL:
                return self._cancel
            case ControlAction.PAUSE:
                return self._pause
            case ControlAction.RESUME:
                return self._resume
            case _:
                assert_never(action)


async def ask_owner(
    store: Store, my_owner_id: str, execution_id: str, action: ControlAction
) -> bool:
    """Record ``action`` for the execution's owner when that is another live process
    and the execution is unfinished; False (nothing recorded) otherwise."""
    target = await asyncio.to_thread(control_target, store, execution_id)
    if (
        target is None
        or ExecutionStatus(target.status).is_terminal
        or target.owner.owner_id == my_owner_id
        or not owner_alive(store, target.owner)  # a non-blocking lock probe
    ):
        return False
    await asyncio.to_thread(request_control, store, execution_id, action, my_owner_id)
    return True
