"""Checkpoints: what a snapshot of an execution holds, and how it is put back.

A snapshot is the execution's variables (a shallow copy: the seed's
``new Map(variables)``) and its completed nodes' outcomes. Restoring it puts the
variables back as they were and the nodes that had completed back to completed
with their outputs; nodes that had not completed then are left as they are.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from app.states import NodeStatus
from main_process.engine.execution_state import Checkpoint, ExecutionState, NodeState


def take_checkpoint(state: ExecutionState, name: str | None) -> Checkpoint:
    """Snapshot ``state`` now and keep the checkpoint on it."""
    snapshot = {
        "nodes": {
            nid: {"status": n.status.value, "output": n.output, "port": n.port}
            for nid, n in state.nodes.items()
            if n.status is NodeStatus.COMPLETED
        },
        "variables": dict(state.variables),
    }
    checkpoint = Checkpoint(str(uuid.uuid4()), name, time.time(), snapshot)
    state.checkpoints.append(checkpoint)
    return checkpoint


def apply_snapshot(state: ExecutionState, snapshot: dict[str, Any]) -> None:
    """Put a checkpoint's variables and completed nodes back into ``state``."""
    state.variables = dict(snapshot.get("variables", {}))
    for nid, saved in snapshot.get("nodes", {}).items():
        node = state.nodes.get(nid)
        if node is None:
            node = state.nodes[nid] = NodeState(nid)
        node.status = NodeStatus(saved["status"])
        node.output = saved.get("output")
        node.port = saved.get("port")
