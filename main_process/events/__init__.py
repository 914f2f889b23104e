"""Events: each execution's log, and following it (in process, over the pipe)."""
