"""The protocol's vocabulary: its version, limits, message kinds and methods.

Kept apart from the models so the code that explains bad frames
(:mod:`ipc.frame_errors`) can name them without importing the models.
"""

from __future__ import annotations

from typing import Final, Literal

PROTOCOL_VERSION: Final = 1
#: Largest frame either side sends or accepts; bigger ones are refused, not read.
MAX_FRAME_BYTES: Final = 64 * 1024 * 1024
#: Event batches a subscriber may hold unread before the worker pauses its stream.
DEFAULT_EVENT_WINDOW: Final = 16
#: Where the worker lives, named (not imported) so ``ipc`` never imports the engine.
DEFAULT_ENTRY_POINT: Final = "main_process.worker:serve"

Method = Literal[
    "execute",
    "start",
    "wait",
    "events",
    "cancel",
    "resume",
    "get_execution",
    "list_executions",
    "list_blueprints",
    "get_blueprint",
    "save_blueprint",
    "delete_blueprint",
    "validate",
    "node_types",
    "node_output",
]
KINDS: Final = ("request", "result", "error", "events", "credit", "abandon", "hello", "heartbeat")
METHODS: Final = Method.__args__  # type: ignore[attr-defined]
