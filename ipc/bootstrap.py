"""What the spawned worker runs first: import the entry point and call it.

Its own module, importing nothing of ours, because a ``spawn`` child imports the
module of its target before anything else: were the target in
:mod:`ipc.process`, every worker would import the pipe client, the unified API
and every model before its engine — tens of milliseconds on the GUI's start path.
The entry point is imported with the garbage collector paused (see
:mod:`app.gc_pause`, which this module may not import).
"""

from __future__ import annotations

import gc
import importlib
from multiprocessing.connection import Connection
from typing import Any


def run_entry_point(conn: Connection, options: dict[str, Any]) -> None:
    """Runs in the child: import ``options["entry_point"]`` (``module:function``) and
    call it with the pipe and the options."""
    module_name, _, attr = str(options["entry_point"]).partition(":")
    gc.disable()  # a fresh process: on until here
    try:
        entry: Any = importlib.import_module(module_name)
    finally:
        gc.freeze()  # the entry point's modules live as long as the process
        gc.enable()
    if attr:
        entry = getattr(entry, attr)
    entry(conn, options)
