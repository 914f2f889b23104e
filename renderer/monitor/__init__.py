"""The run monitor: coalesced execution state, nodes table, timeline, data and log."""
