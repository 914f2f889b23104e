"""One press of Run, one run: a double-click on Run must not start the blueprint twice.

Several executions may run at once (Run stays enabled while one runs), so Run cannot
simply be disabled. Instead a press that repeats the previous one — the same blueprint
and config,
while that press is still starting, or within the double-click interval while its
run is still live — is the same press. A run that already ended is never a reason to
swallow a press: pressing Run again after a quick run starts a new one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from PySide6.QtWidgets import QApplication

from app.blueprint import Blueprint
from renderer.monitor.monitor_model import MonitorModel

#: What a press runs: the blueprint and the run's config.
Press = tuple[Blueprint, dict[str, Any]]


class RunPresses:
    """Remembers the last Run press and recognises its repeats."""

    def __init__(self, model: MonitorModel) -> None:
        self._model = model
        self._last: tuple[Press, float, asyncio.Future[str | None]] | None = None

    def pressed(self, press: Press, started: asyncio.Future[str | None]) -> None:
        """Record a press that started (or is starting) a run."""
        self._last = ((press[0], dict(press[1])), time.monotonic(), started)

    def repeat_of(self, press: Press) -> asyncio.Future[str | None] | None:
        """The previous press's start when ``press`` repeats it, else None."""
        if self._last is None:
            return None
        previous, when, started = self._last
        if previous != press:
            return None
        if not started.done():
            return started
        if started.cancelled() or started.exception() is not None:
            return None
        quick = time.monotonic() - when <= QApplication.doubleClickInterval() / 1000
        execution_id = started.result()
        view = self._model.execution(execution_id) if execution_id else None
        live = view is not None and not view.status.is_terminal
        return started if quick and live else None
