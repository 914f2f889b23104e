"""The engine: the execution graph, the per-execution driver, node running, plans, state."""
