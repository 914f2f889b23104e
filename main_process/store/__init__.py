"""The SQLite store: executions, node runs, events, variables and checkpoints."""

from main_process.store.sqlite_store import Store

__all__ = ["Store"]
