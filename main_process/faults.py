"""Named fault points: kill this process at a chosen place, for crash tests only.

The crash harness (``tests/reliability/crash_harness.py``) proves that a SIGKILL
at any moment loses and duplicates nothing recorded. Random kills rarely land on
the few instructions that matter most — between a node's side effect and the
commit of its completion, inside a store transaction — so the engine and store
name those places and a test switches one on from the environment::

    CONDUCTOR_FAULT=store.after_completion_write@3    # the 3rd time it is passed
    CONDUCTOR_FAULT=node.after_run:n17                 # when node n17 passes it
    CONDUCTOR_FAULT=node.before_run:n17@2              # node n17's 2nd attempt

The variable is read once, at import. Unset (always, outside tests) a fault point
costs one global lookup and a ``None`` test. When the fault fires the process
sends itself SIGKILL: no ``finally`` blocks, no atexit, no flush — exactly what a
``kill -9`` or a power cut of the process does.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass

ENV = "CONDUCTOR_FAULT"

#: Every fault point, and where it sits. Tests iterate over this to kill at each.
POINTS: dict[str, str] = {
    "node.before_run": "a node's running state is emitted; its code is about to be called",
    "node.after_run": "a node's code returned (side effect done); its completion is not yet queued",
    "store.before_completion_write": "a store batch with node completions, before its COMMIT",
    "store.after_completion_write": "a store batch with node completions, right after its COMMIT",
    "store.mid_event_batch": "a store batch, inside the transaction, between event chunks",
    "resume.before_run": "a resume loaded the recorded outcomes; no node has been re-run yet",
    "resume.after_first_node": "a resumed run recorded its first re-run node's completion",
}


@dataclass(slots=True)
class _Fault:
    point: str
    node: str | None
    at_hit: int
    hits: int = 0


def _parse(spec: str | None) -> _Fault | None:
    if not spec:
        return None
    text, _, count = spec.partition("@")
    point, _, node = text.partition(":")
    if point not in POINTS:
        # Refuse loudly: a misspelt fault point would make a crash test pass vacuously.
        raise SystemExit(f"{ENV}: unknown fault point {point!r}; known: {', '.join(POINTS)}")
    try:
        at_hit = int(count) if count else 1
    except ValueError:
        raise SystemExit(f"{ENV}: hit count must be a number, got {count!r}") from None
    return _Fault(point, node or None, at_hit)


_fault = _parse(os.environ.get(ENV))


def armed() -> bool:
    """Whether any fault point is switched on in this process."""
    return _fault is not None


def fault_point(point: str, node: str | None = None) -> None:
    """Kill this process here if the environment asked for it."""
    fault = _fault
    if fault is None or fault.point != point:
        return
    if fault.node is not None and fault.node != node:
        return
    fault.hits += 1
    if fault.hits == fault.at_hit:
        sys.stderr.write(f"conductor: fault point {point} ({node or '-'}) fired: SIGKILL\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
