"""A process that runs the engine for the error-handler crash test.

``fail HOME``: runs a failing blueprint whose ``error_handler`` is ``on-failure``,
and SIGKILLs itself the moment the failure (and the handler it owes) is committed,
before the handler starts: the worst moment for exactly-once.
``sweep HOME``: opens an engine on the data dir and lists executions (which starts
the handlers owed by dead owners), then prints the handler ids it started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from main_process.engine.engine import Engine
from main_process.engine.execution_state import ExecutionState

HANDLER: dict[str, Any] = {
    "id": "on-failure",
    "nodes": [{"id": "report", "type": "set", "params": {"value": "{{ inputs.node_id }}"}}],
    "outputs": {"node": "report"},
}

FAILING: dict[str, Any] = {
    "id": "fragile",
    "error_handler": "on-failure",
    "nodes": [
        {
            "id": "bad",
            "type": "python.function",
            "params": {"function": "tests.node_functions:boom"},
        }
    ],
}


async def _die(state: ExecutionState) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def fail(home: Path) -> None:
    engine = Engine(home, plugins=False)
    await engine.save_blueprint(HANDLER)
    engine.runs.on_failed = _die  # the failure is committed when this is called
    await engine.execute(blueprint=FAILING)


async def sweep(home: Path) -> None:
    engine = Engine(home, plugins=False)
    try:
        started = await engine.handlers.sweep()
        for handler_id in started:
            await engine.wait(handler_id)
        sys.stdout.write(" ".join(started) + "\n")
    finally:
        await engine.close()


if __name__ == "__main__":
    command, home = sys.argv[1], Path(sys.argv[2])
    asyncio.run(fail(home) if command == "fail" else sweep(home))
