"""The limits that keep one blueprint, node or client from taking the whole machine.

Each limit has a documented default, an environment variable, and a flag of the
``conductor`` command that sets the variable (so the desktop app's worker and a
``serve`` process see the same value). Read on use, not at import: a test or a
command can change one for what follows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

__all__ = ["LIMITS", "Limit", "limit", "setting"]


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit: where it is set and what it bounds."""

    name: str
    env: str
    flag: str
    default: float
    help: str


LIMITS: Final = {
    item.name: item
    for item in (
        Limit(
            "value_bytes",
            "CONDUCTOR_MAX_VALUE_BYTES",
            "--max-value-bytes",
            64 * 1024 * 1024,
            "largest value a template or JMESPath expression may build (bytes of JSON)",
        ),
        Limit(
            "http_body_bytes",
            "CONDUCTOR_MAX_HTTP_BODY_BYTES",
            "--max-http-body-bytes",
            64 * 1024 * 1024,
            "largest response body an http.request node reads",
        ),
        Limit(
            "process_output_bytes",
            "CONDUCTOR_MAX_PROCESS_OUTPUT_BYTES",
            "--max-process-output-bytes",
            64 * 1024 * 1024,
            "most a shell.command node's program may write to stdout (and to stderr)",
        ),
        Limit(
            "inline_output_bytes",
            "CONDUCTOR_MAX_INLINE_OUTPUT_BYTES",
            "--max-inline-output-bytes",
            1024 * 1024,
            "largest node output (bytes of JSON) a result carries inline; a larger one comes"
            " as a handle whose pages node_output fetches (see app.output_handles)",
        ),
        Limit(
            "eval_timeout",
            "CONDUCTOR_EVAL_TIMEOUT",
            "--eval-timeout",
            60,
            "seconds a template or expression of a node without a timeout may evaluate",
        ),
        Limit(
            "header_timeout",
            "CONDUCTOR_HEADER_TIMEOUT",
            "--header-timeout",
            10,
            "seconds conductor serve gives a client to send a request's headers",
        ),
        Limit(
            "sse_buffer_bytes",
            "CONDUCTOR_MAX_SSE_BUFFER_BYTES",
            "--max-sse-buffer-bytes",
            8 * 1024 * 1024,
            "bytes conductor serve holds for all event-stream clients together; past it the"
            " clients furthest behind are dropped (they resume with Last-Event-ID)",
        ),
        Limit(
            "store_retry_seconds",
            "CONDUCTOR_STORE_RETRY_SECONDS",
            "--store-retry-seconds",
            30,
            "seconds a failing store write (disk full, database locked) is retried before"
            " the executions waiting for it end with a StoreError",
        ),
        Limit(
            "subflow_depth",
            "CONDUCTOR_MAX_SUBFLOW_DEPTH",
            "--max-subflow-depth",
            16,
            "deepest nesting of blueprint.call and loop bodies (child executions)",
        ),
        Limit(
            "loop_concurrency",
            "CONDUCTOR_MAX_LOOP_CONCURRENCY",
            "--max-loop-concurrency",
            64,
            "most iterations of one loop node that run at once",
        ),
        Limit(
            "stream_buffer_items",
            "CONDUCTOR_STREAM_BUFFER_ITEMS",
            "--stream-buffer-items",
            1000,
            "items a stream buffers between a producing node and its slowest consumer"
            " (back-pressure: the producer waits beyond it)",
        ),
    )
}


def setting(name: str) -> float:
    """The limit's value: its environment variable when set to a positive number, else
    its default. A malformed value falls back to the default rather than failing a run."""
    spec = LIMITS[name]
    raw = os.environ.get(spec.env)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return spec.default
        if value > 0:
            return value
    return spec.default


def limit(name: str) -> int:
    """A size limit (bytes), as a whole number."""
    return int(setting(name))
