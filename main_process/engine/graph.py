"""The execution graph: which node may start, and what an outcome releases.

A pure, synchronous object (no asyncio, no I/O), modelled on Dagster's
``ActiveExecution``: the driver (:mod:`main_process.engine.driver`) asks it for
:meth:`ExecutionGraph.ready` nodes, runs them, and tells it each outcome with
:meth:`ExecutionGraph.mark`, which answers with the nodes that outcome skipped.
Everything here can be tested without a loop.

Semantics (the design's ★ contract):

* **Sequential** plans (no ``edges``) are a chain: ports are ignored, each node gets
  the previous node's output, the first gets the execution's inputs.
* A node's input is the inputs (no upstream), its one upstream's output, or
  ``{upstream_id: output}`` of the upstreams that ran (several).
* An incoming edge ends in one :class:`EdgeState`: ``SUCCESS`` (upstream completed,
  and fired the edge's ``source_port`` if it names one), ``FAILED`` (upstream failed
  with ``on_error: continue``) or ``SKIPPED`` (upstream skipped, or an untaken port).
* Once every incoming edge is decided, the node's ``when`` rule decides:
  ``all_success`` runs unless an edge is skipped (a failed-but-continued upstream
  counts as completed); ``none_failed`` runs when no edge failed and one succeeded;
  ``any_success`` when one succeeded; ``all_done`` always. A node that does not run
  ends ``skipped``, and skipping propagates downstream at once.
* A node that fails without ``on_error: continue`` is the execution's
  :attr:`ExecutionGraph.failure`: nothing more is ready (fast failure), and
  :meth:`ExecutionGraph.cancel_rest` ends every unfinished node ``cancelled``.
* **catch**: a node in a catch node's scope (``caught``) that fails without
  ``on_error: continue`` is not a fast failure: it ends ``failed``, its outgoing
  edges count as skipped (its downstream is skipped as usual), and the rest of the
  execution goes on. A catch node waits for every node in its scope (the plan adds
  an edge from each) and runs when one of them failed, else it is skipped; its
  input is ``{"node_id", "error", "failures"}``: the first failure in plan order,
  and all of them (:meth:`ExecutionGraph.input_for`).
* **Precompleted** nodes (resume, run from a node, pinned outputs) start
  ``completed`` with their recorded output and port, are never ready and never
  change: their outgoing edges are decided from the start, as if they had just
  completed.
* **Outside** nodes (a partial run: ``selected`` names the nodes that may run) end
  ``skipped`` at :meth:`ExecutionGraph.start` and never change either; their edges
  count as skipped.
* **Disabled** nodes never run: when their ``when`` rule would run them they end
  ``skipped`` with their input as output (:meth:`ExecutionGraph.passed`), and their
  port-less edges count as succeeded, so downstream runs on the passed input. An
  edge through a named port is not taken (a bypassed branch node decides no
  branch); a disabled node its rule skips is skipped like any other.

Assumptions: the plan is a DAG whose upstream/downstream lists mirror each other
(:func:`~main_process.engine.plan.compile_plan` guarantees both); each node is marked
once, after :meth:`ExecutionGraph.ready` handed it out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence
from enum import Enum
from typing import Any, Protocol, assert_never

from app.blueprint import JoinRule
from app.states import NodeStatus


class EdgeState(Enum):
    """How an incoming edge ended, once its upstream is finished."""

    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"


class GraphNode(Protocol):
    """What the graph reads of a node (:class:`~main_process.engine.plan.PlanNode` has it)."""

    @property
    def index(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def upstream(self) -> list[tuple[int, str | None]]: ...
    @property
    def downstream(self) -> list[tuple[int, str | None]]: ...
    @property
    def when(self) -> JoinRule: ...
    @property
    def continue_on_error(self) -> bool: ...
    @property
    def catch_scope(self) -> frozenset[int] | None: ...
    @property
    def caught(self) -> bool: ...


# Module-level aliases: the hot path compares by identity, without Enum attribute lookups.
_SUCCESS, _FAILED_EDGE, _SKIPPED_EDGE = EdgeState.SUCCESS, EdgeState.FAILED, EdgeState.SKIPPED
_PENDING, _RUNNING = NodeStatus.PENDING, NodeStatus.RUNNING
_COMPLETED, _FAILED, _CANCELLED = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.CANCELLED
_SKIPPED = NodeStatus.SKIPPED
_ANY_SUCCESS = JoinRule.ANY_SUCCESS
_NOTHING: list[int] = []


class ExecutionGraph:
    """Node statuses, outputs and fired ports of one execution, and its join rules.

    ``completed`` maps node indices to the ``(output, port)`` recorded for them by an
    earlier run (or pinned); ``disabled`` nodes pass their input through; with
    ``selected``, only those nodes (and the precompleted ones) take part. Call
    :meth:`start` once, then :meth:`ready` / :meth:`mark` until :attr:`done`.
    """

    __slots__ = (
        "_disabled",
        "_frozen",
        "_nodes",
        "_outside",
        "_passed",
        "_precompleted",
        "_ready",
        "_running",
        "_sequential",
        "_streaming",
        "_waiting",
        "failure",
        "inputs",
        "outputs",
        "ports",
        "status",
    )

    def __init__(
        self,
        nodes: Sequence[GraphNode],
        *,
        sequential: bool,
        inputs: Any = None,
        completed: Mapping[int, tuple[Any, str | None]] | None = None,
        disabled: Collection[int] = (),
        selected: Collection[int] | None = None,
    ) -> None:
        n = len(nodes)
        self._nodes = nodes
        self._sequential = sequential
        self.inputs = inputs
        self.status: list[NodeStatus] = [_PENDING] * n
        self.outputs: list[Any] = [None] * n
        self.ports: list[str | None] = [None] * n
        self._precompleted: frozenset[int] = frozenset(completed or ())
        for index, (output, port) in (completed or {}).items():
            self.status[index], self.outputs[index], self.ports[index] = _COMPLETED, output, port
        chosen = frozenset(range(n)) if selected is None else frozenset(selected)
        self._outside = frozenset(range(n)) - chosen - self._precompleted
        #: Decided before the run: their edges never count as waited for.
        self._frozen = self._precompleted | self._outside
        frozen = self._frozen
        self._waiting = [
            sum(1 for source, _port in node.upstream if source not in frozen) for node in nodes
        ]
        self._disabled = frozenset(disabled)
        self._passed: set[int] = set()
        self._ready: deque[int] = deque()
        self._running = 0
        #: Producers whose stream opened: running, their edges decided (open_stream).
        self._streaming: set[int] = set()
        #: The node whose failure ends the execution (fast failure), once one failed.
        self.failure: int | None = None

    # -- asking ----------------------------------------------------------------------

    def start(self) -> list[int]:
        """Make ready the nodes waiting for nothing; returns the nodes skipped already:
        outside ones first, then those decided at once (downstream of precompleted
        nodes whose recorded port does not lead to them, disabled ones passing through)."""
        skipped = sorted(self._outside)
        for index in skipped:
            self.status[index] = _SKIPPED
        stack: list[int] = []
        for node in self._nodes:
            index = node.index
            if index not in self._frozen and not self._waiting[index]:
                self._arrive(index, skipped, stack)
        self._drain(stack, skipped)
        return skipped

    def passed(self, index: int) -> bool:
        """Whether this skipped node is a disabled one that passed its input through."""
        return index in self._passed

    def outside(self, index: int) -> bool:
        """Whether this node takes no part in the run (a partial run left it out)."""
        return index in self._outside

    def ready(self, limit: int | None = None) -> list[int]:
        """Up to ``limit`` nodes that may start now, in the order they became ready;
        they count as running from here. None after a fast failure."""
        ready = self._ready
        if not ready or self.failure is not None:
            return _NOTHING
        if limit is None or limit >= len(ready):
            taken = list(ready)
            ready.clear()
        else:
            taken = [ready.popleft() for _ in range(max(0, limit))]
        status = self.status
        for index in taken:
            status[index] = _RUNNING
        self._running += len(taken)
        return taken

    def has_ready(self) -> bool:
        """Whether :meth:`ready` would hand out a node now."""
        return bool(self._ready) and self.failure is None

    @property
    def resumed(self) -> bool:
        """Whether some nodes started precompleted."""
        return bool(self._precompleted)

    @property
    def running(self) -> int:
        """Nodes handed out by :meth:`ready` and not marked yet."""
        return self._running

    @property
    def done(self) -> bool:
        """Nothing runs and nothing more will be ready: the execution can end."""
        return self._running == 0 and (not self._ready or self.failure is not None)

    def edge_state(self, source: int, port: str | None) -> EdgeState:
        """The state of an edge from finished node ``source`` (through ``port``)."""
        status = self.status[source]
        if status is _COMPLETED:
            if port is None or self._sequential or port == self.ports[source]:
                return _SUCCESS
            return _SKIPPED_EDGE
        if status is _FAILED:
            # A caught failure (not continued) releases its downstream as skipped.
            return _FAILED_EDGE if self._nodes[source].continue_on_error else _SKIPPED_EDGE
        if source in self._streaming:  # every port of a per-item branch gets a stream
            return _SUCCESS
        if source in self._passed and (port is None or self._sequential):
            return _SUCCESS
        return _SKIPPED_EDGE

    def should_run(self, index: int) -> bool:
        """The node's ``when`` rule over its (all finished) incoming edges."""
        node = self._nodes[index]
        scope = node.catch_scope
        if scope is not None:
            status = self.status
            return any(status[member] is _FAILED for member in scope)
        success = failed = skipped = 0
        for source, port in node.upstream:
            state = self.edge_state(source, port)
            if state is _SUCCESS:
                success += 1
            elif state is _FAILED_EDGE:
                failed += 1
            else:
                skipped += 1
        match node.when:
            case JoinRule.ALL_SUCCESS:
                return skipped == 0
            case JoinRule.NONE_FAILED:
                return failed == 0 and success > 0
            case JoinRule.ANY_SUCCESS:
                return success > 0
            case JoinRule.ALL_DONE:
                return True
            case _:
                assert_never(node.when)

    def input_for(self, index: int) -> tuple[Any, dict[str, Any]]:
        """The node's input and its ``{upstream_id: output}`` of upstreams that ran
        (``any_success`` leaves failed-but-continued upstreams out)."""
        node = self._nodes[index]
        if node.catch_scope is not None:
            return self._caught_failures(node.catch_scope), {}
        if not node.upstream:
            return self.inputs, {}
        accept_failed = node.when is not _ANY_SUCCESS
        upstream: dict[str, Any] = {}
        for source, port in node.upstream:
            state = self.edge_state(source, port)
            if state is _SUCCESS or (state is _FAILED_EDGE and accept_failed):
                upstream[self._nodes[source].id] = self.outputs[source]
        if len(upstream) == 1:
            return next(iter(upstream.values())), upstream
        return upstream, upstream

    def _caught_failures(self, scope: frozenset[int]) -> dict[str, Any]:
        """A catch node's input: the first failure in its scope (plan order) and all."""
        failures = []
        for member in sorted(scope):
            if self.status[member] is _FAILED:
                record = self.outputs[member]
                error = record.get("error") if isinstance(record, dict) else record
                failures.append({"node_id": self._nodes[member].id, "error": error})
        first = failures[0] if failures else {"node_id": None, "error": None}
        return {"node_id": first["node_id"], "error": first["error"], "failures": failures}

    # -- telling ---------------------------------------------------------------------

    def mark(
        self, index: int, status: NodeStatus, output: Any = None, port: str | None = None
    ) -> list[int]:
        """Record the outcome of a node :meth:`ready` handed out; returns the nodes it
        skipped (in the order decided), whose ``skipped`` state the caller records.

        ``completed`` and ``failed`` keep ``output`` (a failed node's error record) and
        ``port``; a ``failed`` node without ``on_error: continue`` becomes the
        :attr:`failure` and releases nothing, nor does a ``cancelled`` one.
        """
        if self.status[index] is not _RUNNING:
            raise ValueError(f"node {index} was not running (it is {self.status[index]})")
        self._running -= 1
        self.status[index] = status
        if index in self._streaming:  # its edges were decided when its stream opened
            node = self._nodes[index]
            if status is _FAILED and not (node.continue_on_error or node.caught):
                self.failure = index if self.failure is None else self.failure
            return _NOTHING
        if status is _COMPLETED:
            self.outputs[index], self.ports[index] = output, port
        elif status is _FAILED:
            self.outputs[index] = output
            node = self._nodes[index]
            if not node.continue_on_error and not node.caught:
                if self.failure is None:
                    self.failure = index
                return _NOTHING
        elif status is _CANCELLED:
            return _NOTHING
        else:
            raise ValueError(f"{status} is not the outcome of a run")
        if not self._nodes[index].downstream:
            return _NOTHING
        skipped: list[int] = []
        self._release(index, skipped)
        return skipped

    def open_stream(self, index: int, stream: Any) -> list[int]:
        """Running producer ``index`` opened its ``stream``: it is the node's output, and
        its outgoing edges count as succeeded now, so consumers start while it runs
        (it stays running until marked; that mark releases nothing more). Returns
        the nodes this skipped, like :meth:`mark`."""
        if self.status[index] is not _RUNNING:
            raise ValueError(f"node {index} was not running (it is {self.status[index]})")
        self.outputs[index] = stream
        self._streaming.add(index)
        skipped: list[int] = []
        self._release(index, skipped)
        return skipped

    def cancel_rest(self) -> list[int]:
        """End every node that has not finished ``cancelled`` (fast failure or a
        cancelled execution, once nothing runs); returns them in plan order."""
        rest = [
            i for i, status in enumerate(self.status) if status is _PENDING or status is _RUNNING
        ]
        for index in rest:
            self.status[index] = _CANCELLED
        self._ready.clear()
        self._running = 0
        return rest

    def _release(self, index: int, skipped: list[int]) -> None:
        """Decide ``index``'s outgoing edges; make ready or skip the targets whose
        incoming edges are all decided, and go on through the ones skipped."""
        self._drain([index], skipped)

    def _drain(self, stack: list[int], skipped: list[int]) -> None:
        nodes, waiting, frozen = self._nodes, self._waiting, self._frozen
        while stack:
            current = stack.pop()
            for target, _port in nodes[current].downstream:
                if target in frozen:
                    continue
                waiting[target] -= 1
                if not waiting[target]:
                    self._arrive(target, skipped, stack)

    def _arrive(self, target: int, skipped: list[int], stack: list[int]) -> None:
        """Every incoming edge of ``target`` is decided: ready it, pass it through
        (disabled) or skip it; a node decided here goes on ``stack`` to release."""
        if not self._nodes[target].upstream or self.should_run(target):
            if target not in self._disabled:
                self._ready.append(target)
                return
            self.outputs[target] = self.input_for(target)[0]
            self._passed.add(target)
        self.status[target] = _SKIPPED
        skipped.append(target)
        stack.append(target)
