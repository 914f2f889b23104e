"""The protocol's vocabulary: its version, limits, message kinds and methods.

Kept apart from the frame models so the code that explains bad frames
(:mod:`ipc.frame_errors`) can name them without importing those; the method names
come from the operations (:mod:`app.operations`), so a new one is known here at once.
"""

from __future__ import annotations

from typing import Final

from app.operations import METHODS as OPERATION_METHODS

PROTOCOL_VERSION: Final = 1
#: Largest frame either side sends or accepts; bigger ones are refused, not read.
MAX_FRAME_BYTES: Final = 64 * 1024 * 1024
#: Event batches a subscriber may hold unread before the worker pauses its stream.
DEFAULT_EVENT_WINDOW: Final = 16
#: Where the worker lives, named (not imported) so ``ipc`` never imports the engine.
DEFAULT_ENTRY_POINT: Final = "main_process.worker:serve"

KINDS: Final = ("request", "result", "error", "events", "credit", "abandon", "hello", "heartbeat")
#: Every method a request or result frame may name: the operations, plus the
#: pipe's own event subscription.
METHODS: Final = (*OPERATION_METHODS, "events")
