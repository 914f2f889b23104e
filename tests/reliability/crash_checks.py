"""What the crash harness counts, and how it reads a killed engine's leftovers.

The readers open the SQLite file and the side-effect log directly, not through an
engine: after a SIGKILL nothing may restart (and so recover or rewrite anything)
before the file has been checked.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from main_process.store.chunks import decode_nodes


@dataclass
class Figures:
    """What was tried and what went wrong, summed over scenarios."""

    kills: int = 0
    kills_by_fault_point: Counter[str] = field(default_factory=Counter)
    faults_not_fired: list[str] = field(default_factory=list)
    random_kills: int = 0
    kills_after_completion: int = 0
    executions: int = 0
    executions_stuck: int = 0
    integrity_failures: int = 0
    outcomes_lost: int = 0
    outcomes_duplicated: int = 0
    output_mismatches: int = 0
    seq_gaps: int = 0
    incomplete_executions: int = 0
    side_effects_missing: int = 0
    side_effects_excess: int = 0
    side_effect_reruns: int = 0
    #: Nodes whose output a downstream node had already consumed in the killed
    #: process but whose completion the kill lost: each runs again (must be 0).
    finished_nodes_rerun_after_kill: int = 0
    #: Nodes running when killed, so run again: allowed, counted apart.
    inflight_reruns_after_kill: int = 0
    #: The most nodes one kill left to run again (at most the concurrency limit).
    most_reruns_per_kill: int = 0
    problems: list[str] = field(default_factory=list)
    #: How long the last finished execution took, start to end (seconds).
    last_duration: float = 0.0

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["kills_by_fault_point"] = dict(self.kills_by_fault_point)
        return out

    @property
    def failures(self) -> int:
        return (
            len(self.faults_not_fired)
            + self.executions_stuck
            + self.integrity_failures
            + self.outcomes_lost
            + self.outcomes_duplicated
            + self.output_mismatches
            + self.seq_gaps
            + self.incomplete_executions
            + self.side_effects_missing
            + self.side_effects_excess
            + self.finished_nodes_rerun_after_kill
        )


def completions(conn: sqlite3.Connection, execution_id: str) -> set[str]:
    latest: dict[str, str] = {}
    for (chunk,) in conn.execute(
        "SELECT chunk FROM node_runs WHERE execution_id = ? ORDER BY first_seq", (execution_id,)
    ):
        for record in decode_nodes(chunk):
            latest[record["node_id"]] = record["status"]
    return {node_id for node_id, status in latest.items() if status == "completed"}


def completion_records(conn: sqlite3.Connection, execution_id: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for (chunk,) in conn.execute(
        "SELECT chunk FROM node_runs WHERE execution_id = ?", (execution_id,)
    ):
        for record in decode_nodes(chunk):
            if record["status"] == "completed":
                counts[record["node_id"]] += 1
    return counts


def events(conn: sqlite3.Connection, execution_id: str) -> tuple[list[int], Counter[str]]:
    seqs: list[int] = []
    completed: Counter[str] = Counter()
    for (chunk,) in conn.execute(
        "SELECT chunk FROM events WHERE execution_id = ? ORDER BY first_seq", (execution_id,)
    ):
        for seq, _ts, kind, node_id, status, *_rest in orjson.loads(chunk):
            seqs.append(seq)
            if kind == "node" and status == "completed":
                completed[node_id] += 1
    return seqs, completed


def side_effects(log: Path) -> dict[str, Counter[str]]:
    """``{node_id: {pid: runs}}`` from the side-effect file."""
    runs: dict[str, Counter[str]] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            node_id, pid, _attempt = line.split()
            runs.setdefault(node_id, Counter())[pid] += 1
    return runs
