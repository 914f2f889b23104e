"""Start-up with the cyclic garbage collector paused.

Importing Conductor and opening an engine makes ~40,000 objects that live as long as
the process (modules, classes, models) and almost no garbage, yet the collector,
triggered every 700 allocations, walked them ~90 times on the way (~14 ms of a
quiet ``conductor run``, several times that on a loaded machine). The ``conductor``
command and the pipe worker hold it off while they import and while their engine
opens. Resuming it must not walk everything made meanwhile in one go (that costs
as much as it saved): the process-level pause ends with :func:`gc.freeze` (what an
entry point imported lives as long as the process), and the engine's opening
freezes its start-up heap itself (:mod:`main_process.heap`). Scoped by ``with``, so
no path can leave it off.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Hold off cyclic collection inside the block (a no-op when already off);
    ``freeze``: then move what is alive to the permanent generation — only where
    this process's start-up is over (an entry point's imports), never in a library
    call, where it would keep a caller's garbage for ever."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        gc.enable()
