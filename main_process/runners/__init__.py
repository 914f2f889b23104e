"""Where node code runs: threads, warm worker processes."""
