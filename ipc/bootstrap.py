"""What the spawned worker runs first: import the entry point and call it.

Its own module, importing nothing of ours, because a ``spawn`` child imports the
module of its target before anything else: were the target in
:mod:`ipc.process`, every worker would import the pipe client, the unified API
and every model before its engine — tens of milliseconds on the GUI's start path.
"""

from __future__ import annotations

import importlib
from multiprocessing.connection import Connection
from typing import Any


def run_entry_point(conn: Connection, options: dict[str, Any]) -> None:
    """Runs in the child: import ``options["entry_point"]`` (``module:function``) and
    call it with the pipe and the options."""
    module_name, _, attr = str(options["entry_point"]).partition(":")
    entry: Any = importlib.import_module(module_name)
    if attr:
        entry = getattr(entry, attr)
    entry(conn, options)
