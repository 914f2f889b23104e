"""How events and node outcomes are packed into rows: chunks of JSON.

A row per event or per node cost ~5-12 µs of SQLite time each on this machine;
a chunk costs about that for a whole writer batch. Events are stored as
``[seq, ts, kind, node_id, status, attempt, data]`` arrays, at most
:data:`CHUNK_EVENTS` to a row, keyed by their first seq; node outcomes as
:data:`NODE_FIELDS` records with their output JSON embedded as it was serialised.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from app.json_values import dumps

#: Events per stored chunk at most: a reader after seq N decodes one chunk or two,
#: not a batch of 100,000 events, to find its place.
CHUNK_EVENTS = 512


class EventRow(NamedTuple):
    """One recorded event as the hot path makes it and the store keeps it.

    A named tuple, not a model: every transition makes one, and most runs are
    watched by nobody, so the :class:`~app.events.Event` model is built only when
    someone reads. It is also the writer queue's operation for an event.
    """

    execution_id: str
    seq: int
    ts: float
    kind: str
    node_id: str | None
    status: str | None
    attempt: int | None
    data: Any


class NodeRow(NamedTuple):
    """One node outcome as queued; ``output``/``input``/``error`` are JSON bytes."""

    node_id: str
    status: str
    attempts: int
    started_at: float | None
    finished_at: float | None
    port: str | None
    output: bytes | None
    output_path: str | None
    output_size: int | None
    input: bytes | None
    error: bytes | None


#: The fields of one node outcome record in a ``node_runs`` chunk, in order.
NODE_FIELDS = NodeRow._fields


class NodeOutcome(NamedTuple):
    """One node outcome as read back: the JSON parts decoded."""

    node_id: str
    status: str
    attempts: int
    started_at: float | None
    finished_at: float | None
    port: str | None
    output: Any
    output_path: str | None
    output_size: int | None
    input: Any
    error: dict[str, Any] | None


def _raw(data: bytes | None) -> orjson.Fragment | None:
    return None if data is None else orjson.Fragment(data)


def encode_nodes(execution_id: str, rows: list[tuple[int, NodeRow]]) -> tuple[str, int, bytes]:
    """One node_runs row for a batch of node outcomes (JSON parts embedded as is)."""
    records = [
        (*row[:6], _raw(row[6]), row[7], row[8], _raw(row[9]), _raw(row[10])) for _, row in rows
    ]
    return execution_id, rows[0][0], orjson.dumps(records)


def decode_nodes(chunk: bytes) -> list[dict[str, Any]]:
    """A node_runs chunk as ``{field: value}`` records (for checks of a database)."""
    return [dict(zip(NODE_FIELDS, record, strict=True)) for record in orjson.loads(chunk)]


def decode_outcomes(chunk: bytes) -> list[NodeOutcome]:
    return [NodeOutcome(*record) for record in orjson.loads(chunk)]


def encode_chunk(rows: list[EventRow]) -> tuple[str, int, int, bytes]:
    """One events row for a contiguous run of one execution's events."""
    body = dumps([row[1:] for row in rows], default=str)  # past orjson's 255 levels too
    return rows[0][0], rows[0][1], rows[-1][1], body


def decode_chunk(execution_id: str, chunk: bytes) -> list[EventRow]:
    return [EventRow(execution_id, *item) for item in orjson.loads(chunk)]
