"""Triggers: what starts executions by itself (schedules, file watches, webhooks).

:mod:`.firing` starts and records one fire; :mod:`.runtime` runs the schedule and
file loops of the triggers this process holds the locks of; :mod:`.operations`
answers list, enable, disable, suspend, fire and held-fire requests.
"""
