"""The engine: executor, state manager, store, node registry and built-in nodes.

Never imports Qt. Everything here runs and is tested with no GUI at all.
"""
