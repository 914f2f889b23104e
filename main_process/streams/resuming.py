"""Which recorded streams a resumed run must produce again.

A streamed output is recorded as its summary (count, bytes, preview), which is no
input for a consumer: resume re-runs a streaming node from its start whenever a node
it feeds runs again (and so on upstream, through per-item stages). A streaming node
whose consumers all completed keeps its recorded summary. One recorded with
``record: full`` is not run again: its recorded chunks flow instead
(:mod:`main_process.streams.replay`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from app.blueprint import Blueprint
from main_process.streams.recording import is_stream_summary


def stream_reruns(
    blueprint: Blueprint, completed: Mapping[str, tuple[Any, str | None]]
) -> set[str]:
    """Ids in ``completed`` (recorded outcomes) that must run again for their consumers."""
    ids = [node.id for node in blueprint.nodes]
    downstream: dict[str, list[str]] = {node_id: [] for node_id in ids}
    if blueprint.edges is None:
        for before, after in itertools.pairwise(ids):
            downstream[before].append(after)
    else:
        for edge in blueprint.edges:
            downstream.setdefault(edge.source, []).append(edge.target)
    kept = set(completed)
    rerun: set[str] = set()
    changed = True
    while changed:
        changed = False
        for node_id in list(kept):
            if is_stream_summary(completed[node_id][0]) and any(
                target not in kept for target in downstream.get(node_id, ())
            ):
                kept.discard(node_id)
                rerun.add(node_id)
                changed = True
    return rerun
