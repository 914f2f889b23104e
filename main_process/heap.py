"""The start-up heap, frozen once: the garbage collector never walks it again.

After an engine has started, the process holds ~40,000 long-lived objects (modules,
classes, pydantic schemas, the node registry) that never become garbage. Every full
(generation 2) collection walked them all, on whatever thread triggered it, usually
the engine's loop: ~8-28 ms each, measured (``gc.collect()`` after an engine's first
execution). :func:`gc.freeze` moves them to the permanent generation, so a full
collection walks only what was made since. Without a collection first (that would
cost the same ~10-20 ms at start-up): only ~5 unreachable objects were found there,
which then stay.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> None:
    """Freeze what is alive now, once per process (later engines, as in tests, do not
    freeze again: what their predecessors left would never be collected)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
