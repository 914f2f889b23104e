"""The SQLite store: executions, node runs, events, variables, checkpoints and
control requests. This package is the only code that writes or reads SQL
(a structural test holds it): the rest of the engine calls its domain functions
(:mod:`~main_process.store.history`, :mod:`~main_process.store.recovery`,
:mod:`~main_process.store.control`) and queues typed operations
(:mod:`~main_process.store.ops`) on :class:`Store`. Reads block: callers on the
event loop run them in a thread."""

from main_process.store.sqlite_store import Store

__all__ = ["Store"]
