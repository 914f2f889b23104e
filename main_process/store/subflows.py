"""Reads and writes of sub-blueprint links and loop iterations (issue 13).

A child execution's row names its parent execution and node
(``parent_execution_id``, ``parent_node_id``); a ``loop`` node's iterations are rows
of ``loop_iterations``, one per (execution, node, index), written in batches by
:func:`write_iterations` (one transaction per batch: 10,000 iterations cost a few
dozen commits, not 10,000). Blocking: callers on the loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from main_process.store.serialization import loads
from main_process.store.sqlite_store import Store

_INSERT = (
    "INSERT OR REPLACE INTO loop_iterations"
    " (execution_id, node_id, idx, status, output_json, error_json, finished_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class IterationRow(NamedTuple):
    """One finished iteration, serialised for the store."""

    execution_id: str
    node_id: str
    idx: int
    status: str
    output_json: bytes | None
    error_json: bytes | None
    finished_at: float


class ChildRow(NamedTuple):
    execution_id: str
    parent_node_id: str | None
    blueprint_id: str
    status: str
    created_at: float
    finished_at: float | None


def link_parent(store: Store, execution_id: str, parent_id: str, parent_node_id: str) -> None:
    """Name a new execution's parent (queued: merges with its insert in one batch)."""
    store.enqueue_execution(
        execution_id, {"parent_execution_id": parent_id, "parent_node_id": parent_node_id}
    )


def child_for(store: Store, parent_id: str, node_id: str) -> str | None:
    """The newest child execution a parent's node started, if any."""
    row = store.query_one(
        "SELECT id FROM executions WHERE parent_execution_id = ? AND parent_node_id = ?"
        " ORDER BY created_at DESC LIMIT 1",
        (parent_id, node_id),
    )
    return None if row is None else str(row["id"])


def children(store: Store, parent_id: str, limit: int = 1000) -> list[ChildRow]:
    rows = store.query(
        "SELECT id, parent_node_id, blueprint_id, status, created_at, finished_at"
        " FROM executions WHERE parent_execution_id = ? ORDER BY created_at LIMIT ?",
        (parent_id, limit),
    )
    return [ChildRow(*row) for row in rows]


def parent_of(store: Store, execution_id: str) -> tuple[str, str] | None:
    """(parent execution id, parent node id) of a child execution; None otherwise."""
    row = store.query_one(
        "SELECT parent_execution_id, parent_node_id FROM executions WHERE id = ?",
        (execution_id,),
    )
    if row is None or row[0] is None:
        return None
    return str(row[0]), str(row[1])


def ancestors(store: Store, execution_id: str, limit: int) -> list[str]:
    """Blueprint ids of the execution's ancestors, nearest first (at most ``limit``)."""
    found: list[str] = []
    current = execution_id
    while len(found) < limit:
        row = store.query_one(
            "SELECT p.id, p.blueprint_id FROM executions c JOIN executions p"
            " ON p.id = c.parent_execution_id WHERE c.id = ?",
            (current,),
        )
        if row is None:
            break
        current = str(row[0])
        found.append(str(row[1]))
    return found


def write_iterations(store: Store, rows: Sequence[IterationRow]) -> None:
    """Record a batch of finished iterations in one transaction."""

    def work(conn: sqlite3.Connection) -> None:
        conn.executemany(_INSERT, rows)

    store.transaction(work)


def completed_iterations(store: Store, execution_id: str, node_id: str) -> dict[int, Any]:
    """Outputs of the iterations recorded ``completed``, by index (what resume reuses)."""
    rows = store.query(
        "SELECT idx, output_json FROM loop_iterations"
        " WHERE execution_id = ? AND node_id = ? AND status = 'completed'",
        (execution_id, node_id),
    )
    return {int(idx): loads(data) for idx, data in rows}


def iteration_counts(
    store: Store, execution_id: str, node_id: str | None
) -> dict[str, dict[str, int]]:
    """{node_id: {status: count}} for one loop node, or every loop node of an execution."""
    sql = "SELECT node_id, status, COUNT(*) FROM loop_iterations WHERE execution_id = ?"
    params: list[Any] = [execution_id]
    if node_id is not None:
        sql += " AND node_id = ?"
        params.append(node_id)
    counts: dict[str, dict[str, int]] = {}
    for node, status, count in store.query(sql + " GROUP BY node_id, status", params):
        counts.setdefault(str(node), {})[str(status)] = int(count)
    return counts


def iteration_page(
    store: Store,
    execution_id: str,
    node_id: str,
    *,
    offset: int,
    limit: int,
    status: str | None,
    with_output: int | None,
) -> list[tuple[int, str, Any, Any, float, bool]]:
    """(index, status, error, output, finished_at, has_output) in index order; the
    output is read only for the iteration ``with_output`` (a page of 10,000 outputs
    is not what a table needs)."""
    sql = (
        "SELECT idx, status, error_json, finished_at, output_json IS NOT NULL,"
        " CASE WHEN idx = ? THEN output_json END"
        " FROM loop_iterations WHERE execution_id = ? AND node_id = ?"
    )
    params: list[Any] = [-1 if with_output is None else with_output, execution_id, node_id]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    sql += " ORDER BY idx LIMIT ? OFFSET ?"
    params += [limit, offset]
    return [
        (int(idx), str(st), loads(err), loads(out), float(at), bool(has))
        for idx, st, err, at, has, out in store.query(sql, params)
    ]
