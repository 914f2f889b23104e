"""What an execution returns and what listings show.

``ExecutionResult`` keeps the seed's ``success``/``outputs``/``error`` and adds the
execution id, final status and one :class:`NodeResult` per node, so a caller can
see which node failed, how often it was tried and what it produced.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import ConfigError, ErrorInfo
from app.output_handles import OutputValue
from app.states import ExecutionStatus, NodeStatus


class ExecutionConfig(BaseModel):
    """Per-run options: ``parallel=False`` runs one node at a time; ``debug_mode``
    records every node's input as well as its output.

    ``start_at`` runs that node and everything downstream of it ("run from here"),
    reusing the outputs that ``reuse_from`` (default: this blueprint's latest
    execution) recorded for the other nodes — except nodes whose definition
    changed since, which run again with their downstream.

    Partial runs: ``stop_after`` runs that node and its upstream, nothing
    downstream ("run up to here"); ``only`` runs that node alone ("run this
    node"), its upstream's outputs lent by ``reuse_from`` (or the latest
    execution), by pins, or given as ``node_input`` (its one upstream's output, or
    ``{upstream_id: output}``; the blueprint inputs for a node without upstream).

    ``use_pins`` uses the blueprint's ``ui.pins`` (or the ``pins`` given) as those
    nodes' outputs (they do not run); the engine records the pins it used in
    ``pins``, so a resume uses the same ones whatever the blueprint says by then.

    ``inject`` makes nodes fail on purpose: ``{node_id: "error" | "timeout" |
    "slow:2.5"}`` (see :mod:`app.fault_injection`).
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    parallel: bool = True
    debug_mode: bool = False
    concurrency: int | None = Field(default=None, ge=1, le=10_000)
    timeout: float | None = Field(default=None, gt=0)
    start_at: str | None = None
    reuse_from: str | None = None
    only: str | None = None
    stop_after: str | None = None
    node_input: Any = None
    use_pins: bool = False
    pins: dict[str, Any] | None = None
    #: The trigger that started this run (``<blueprint_id>:<name>``), and what its
    #: templates see as ``{{ trigger.* }}``: a schedule's ``scheduled_at``, a file's
    #: ``path``, a webhook's ``body``, ``query``, ``headers`` and ``method`` (see
    #: main_process.triggers.firing and main_process.http.webhooks). Kept in the
    #: recorded config, so a resume sees the same.
    triggered_by: str | None = None
    trigger: dict[str, Any] | None = None
    inject: dict[str, str] | None = None

    @field_validator("inject")
    @classmethod
    def _faults(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        """Each fault in its canonical spelling (``SLOW:2.50`` → ``slow:2.5``)."""
        from app.fault_injection import parse_injection

        if value is None:
            return None
        return {node_id: parse_injection(spec).spec for node_id, spec in value.items()}


class NodeResult(BaseModel):
    """The outcome of one node in one execution."""

    model_config = ConfigDict(defer_build=True)

    node_id: str
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    #: The output, or an :class:`~app.output_handles.OutputHandle` when it is over the
    #: inline limit (page it with ``node_output``; see :mod:`app.output_handles`).
    output: OutputValue = None
    input: Any = None
    error: ErrorInfo | None = None
    port: str | None = None
    #: Bytes of the recorded output's JSON (as a node event's ``output_size``); None
    #: before the node ends, or when nothing is recorded. What decides on a handle.
    output_size: int | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) * 1000.0


class ExecutionResult(BaseModel):
    """The result of ``execute`` / ``get_execution``: the seed's fields plus detail."""

    model_config = ConfigDict(defer_build=True)

    execution_id: str
    blueprint_id: str
    status: ExecutionStatus
    success: bool
    #: The outputs, or an :class:`~app.output_handles.OutputHandle` (node id ``""``)
    #: when they are over the inline limit.
    outputs: OutputValue = None
    error: ErrorInfo | None = None
    nodes: dict[str, NodeResult] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    blueprint_hash: str | None = None
    #: The run's config as recorded (with the pins it used): what a resume uses.
    config: dict[str, Any] = Field(default_factory=dict)
    #: While ``pending`` behind the engine's limit on executions at once: 1 starts next.
    queue_position: int | None = None
    #: The seq of the last event recorded so far: follow ``events(id, last_seq)`` from
    #: here to see only what happens next.
    last_seq: int | None = None
    #: A sub-blueprint's run: the execution and ``blueprint.call`` node that started it.
    parent_execution_id: str | None = None
    parent_node_id: str | None = None
    #: A failed execution of a blueprint with an ``error_handler``: the handler's
    #: execution it started; on a handler execution, the failed one it handles.
    error_handler_execution_id: str | None = None
    handler_for: str | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) * 1000.0


class ExecutionSummary(BaseModel):
    """One row of ``list_executions`` (no node data)."""

    #: Not on the start path of a run: built on first use.
    model_config = ConfigDict(defer_build=True)

    execution_id: str
    blueprint_id: str
    blueprint_name: str | None = None
    status: ExecutionStatus
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: ErrorInfo | None = None
    #: The run's ``config.inject`` (faults injected on purpose), when it had one.
    inject: dict[str, str] | None = None
    #: A sub-blueprint's run: the execution whose ``blueprint.call`` node started it.
    parent_execution_id: str | None = None
    #: See :attr:`ExecutionResult.error_handler_execution_id` and ``handler_for``.
    error_handler_execution_id: str | None = None
    handler_for: str | None = None


class BlueprintSummary(BaseModel):
    """One row of ``list_blueprints``."""

    #: Not on the start path of a run: built on first use.
    model_config = ConfigDict(defer_build=True)

    id: str
    name: str | None = None
    description: str = ""
    source: str  # "user" (data dir) or "example" (bundled)
    path: str | None = None


class NodeTypeInfo(BaseModel):
    """What the editor and ``conductor nodes`` need to know about a node type."""

    #: Not on the start path of a run: built on first use.
    model_config = ConfigDict(defer_build=True)

    type: str
    title: str
    category: str
    description: str = ""
    params_schema: dict[str, Any] = Field(default_factory=dict)
    ports: list[str] = Field(default_factory=list)
    dynamic_ports: bool = False
    runner: str = "inline"
    #: The type's part in streams of items (a :class:`~app.stream_roles.StreamRole`
    #: value), or ``"params"`` when its params decide (``stream`` / ``per_item``).
    streams: str = "whole"


#: The most items one :class:`OutputPage` may hold: a page is for showing, not exporting.
MAX_PAGE_LIMIT = 10_000
#: How a node's output is paged: list items, object entries, one scalar, or nothing yet.
OutputKind = Literal["list", "object", "scalar", "none"]


def check_page(offset: int, limit: int) -> None:
    """ConfigError naming the field when a page request is out of bounds.

    Checked by the facade (fail before crossing a process) and again by the engine
    (a raw pipe or HTTP client skips the facade).
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ConfigError(f"offset must be an integer >= 0, not {offset!r}", where="offset")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE_LIMIT:
        raise ConfigError(
            f"limit must be an integer from 0 to {MAX_PAGE_LIMIT:,}, not {limit!r}", where="limit"
        )


class OutputPage(BaseModel):
    """One page of a node's recorded output, so a 100,000-item list never crosses whole.

    ``total`` counts list items or object keys (1 for a scalar, 0 for no output);
    ``items`` holds the slice: list items, ``[key, value]`` pairs in key order, or
    ``[value]`` for a scalar on the first page. ``size_bytes`` is the whole output's
    serialised size as the store recorded it (0 when nothing was recorded).
    A streamed output's pages say how many items flowed in ``stream_items``.
    """

    #: Not on the start path of a run: built on first use.
    model_config = ConfigDict(defer_build=True)

    execution_id: str
    node_id: str
    kind: OutputKind
    total: int
    offset: int
    limit: int
    items: list[Any] = Field(default_factory=list)
    size_bytes: int = 0
    #: A streamed output's item count (``total`` is the items its pages hold: all of
    #: them when the node recorded it in full, else the first ones kept for display);
    #: None for any other output.
    stream_items: int | None = None

    @property
    def complete(self) -> bool:
        """Whether the pages hold the whole value (not only a stream's first items)."""
        return self.stream_items is None or self.total >= self.stream_items

    @classmethod
    def of(
        cls,
        execution_id: str,
        node_id: str,
        value: Any,
        *,
        offset: int,
        limit: int,
        size_bytes: int | None,
    ) -> OutputPage:
        """The page ``[offset, offset + limit)`` of ``value``."""
        end = offset + limit
        kind: OutputKind
        if value is None:
            kind, total, items = "none", 0, []
        elif isinstance(value, list):
            kind, total, items = "list", len(value), value[offset:end]
        elif isinstance(value, dict):
            keys = list(islice(value, offset, end))
            kind, total, items = "object", len(value), [[k, value[k]] for k in keys]
        else:
            kind, total = "scalar", 1
            items = [value] if offset == 0 and limit > 0 else []
        return cls(
            execution_id=execution_id,
            node_id=node_id,
            kind=kind,
            total=total,
            offset=offset,
            limit=limit,
            items=items,
            size_bytes=size_bytes or 0,
        )
