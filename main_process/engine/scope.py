"""What one run takes part in: pinned outputs, partial runs and reused outputs.

A run's config may narrow or feed it (see :class:`~app.results.ExecutionConfig`):

* ``use_pins``: the blueprint's ``ui.pins`` stand in for those nodes' outputs. The
  pins are copied into the config the execution records, so a resume uses what the
  original run used even after the user unpinned or edited them. A disabled node's
  pin is ignored (the node passes its input through instead).
* ``stop_after``: the node and its ancestors run; every other node ends ``skipped``
  (reason ``not_in_run``).
* ``only``: the node runs alone. Its ancestors' outputs come from the latest (or
  ``reuse_from``) execution's recorded completions, overridden by pins, and its
  direct upstreams' by ``node_input`` when given; an upstream with none of these is
  a :class:`~app.errors.NodeInputError` naming the node, before anything starts.
  A pin on the partial run's own node is ignored: the user asked to run it; only
  pins and recorded outputs upstream of its node take part.
* ``start_at``: run from a node (:mod:`app.partial_runs`), reusing recorded outputs.

The result is a :class:`RunScope` the driver hands to the pure graph: precompleted
outputs (with what to record for each), the selected nodes, and the target node
whose output is the execution's output in a partial run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.blueprint import Blueprint
from app.errors import ConfigError, NodeInputError
from app.partial_runs import ancestors, upstream_map
from app.results import ExecutionConfig
from app.states import NodeReason, NodeStatus
from main_process.engine.injection import check_injections
from main_process.engine.resume import load_reuse_source, reusable_outputs
from main_process.engine.state_manager import StateManager
from main_process.store import Store
from main_process.store.serialization import is_unserializable

Completions = dict[str, tuple[Any, str | None]]


@dataclass(frozen=True, slots=True)
class RunScope:
    """Precompleted outputs, what to record for each at the start, and the nodes that
    may run (None: all); ``target`` is a partial run's node."""

    completed: Completions = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    selected: frozenset[str] | None = None
    target: str | None = None
    reused_from: str | None = None


def with_pins(model: Blueprint, cfg: ExecutionConfig) -> ExecutionConfig:
    """``cfg`` with the pins this run uses: with ``use_pins``, the ``pins`` given, else
    the blueprint's (pins of disabled nodes left out; a given pin naming no node is a
    ConfigError, a stale one in the blueprint is ignored)."""
    if not cfg.use_pins:
        return cfg
    given = cfg.pins
    if given is not None:
        unknown = [node_id for node_id in given if model.node(node_id) is None]
        if unknown:
            raise ConfigError(
                f"pins name no node of blueprint {model.id!r}: {', '.join(map(repr, unknown))}",
                where="config.pins",
            )
    pins = {
        node_id: value
        for node_id, value in (model.ui.pins if given is None else given).items()
        if (spec := model.node(node_id)) is not None and not spec.disabled
    }
    return cfg.model_copy(update={"pins": pins})


def _check_names(model: Blueprint, cfg: ExecutionConfig) -> None:
    check_injections(model, cfg)
    for key in ("only", "stop_after"):
        node_id = getattr(cfg, key)
        if node_id is not None and model.node(node_id) is None:
            raise ConfigError(
                f"{key} names no node of blueprint {model.id!r}: {node_id!r}",
                where=f"config.{key}",
            )
    if cfg.only is not None and (cfg.start_at is not None or cfg.stop_after is not None):
        raise ConfigError(
            "only runs one node; it does not combine with start_at or stop_after",
            where="config.only",
        )
    if "node_input" in cfg.model_fields_set and cfg.only is None:
        raise ConfigError("node_input feeds the node named by only", where="config.node_input")


def _latest_outputs(
    states: StateManager, model: Blueprint, source: str | None
) -> tuple[str | None, Completions]:
    """The recorded completions of ``source`` (else the blueprint's latest finished
    execution; none when it never ran)."""
    if source is None:
        earlier = [
            s
            for s in states.list_executions(limit=20, blueprint_id=model.id)
            if s.status.is_terminal
        ]
        if not earlier:
            return None, {}
        source = earlier[0].execution_id
    previous = load_reuse_source(states, model, source)
    return source, {
        node_id: (node.output, node.port)
        for node_id, node in previous.nodes.items()
        if node.status is NodeStatus.COMPLETED and not is_unserializable(node.output)
    }


async def run_scope(
    states: StateManager,
    store: Store | None,
    running: Container[str],
    model: Blueprint,
    cfg: ExecutionConfig,
) -> RunScope:
    """The scope of a new run of ``model`` under ``cfg`` (pins already filled in by
    :func:`with_pins`); ConfigError / NodeInputError for a run that cannot start."""
    _check_names(model, cfg)
    source: str | None = None
    lent: Completions = {}
    if cfg.start_at is not None or cfg.only is not None:
        if cfg.reuse_from is None and store is not None:
            await store.flush()  # the latest execution's completions are readable
        elif cfg.reuse_from in running:
            raise ConfigError(
                f"execution {cfg.reuse_from!r} is still running", where="config.reuse_from"
            )
        if cfg.start_at is not None:
            source, lent = await asyncio.to_thread(
                reusable_outputs, states, model, cfg.start_at, cfg.reuse_from
            )
        else:
            source, lent = await asyncio.to_thread(_latest_outputs, states, model, cfg.reuse_from)
    notes: dict[str, dict[str, Any]] = {}
    selected: frozenset[str] | None = None
    target = cfg.only or cfg.stop_after
    if target is not None:
        above = ancestors(model, target)
        selected = frozenset({target} if cfg.only else above | {target})
        lent = {node_id: value for node_id, value in lent.items() if node_id in above}
    completed: Completions = dict(lent)
    if source is not None:
        notes = {node_id: {"reused_from": source} for node_id in lent}
    _add_pins(cfg, completed, notes, within=None if target is None else above)
    if cfg.only is not None:
        _feed_lone_node(model, cfg, cfg.only, completed, notes)
    return RunScope(completed, notes, selected, target, source)


def _add_pins(
    cfg: ExecutionConfig,
    completed: Completions,
    notes: dict[str, dict[str, Any]],
    *,
    within: set[str] | None,
) -> None:
    """Add the pins of ``cfg`` (those ``within`` a partial run's upstream)."""
    if not cfg.use_pins:
        return
    for node_id, value in (cfg.pins or {}).items():
        if within is None or node_id in within:
            completed[node_id] = (value, None)
            notes[node_id] = {"reason": NodeReason.PINNED.value}


def _feed_lone_node(
    model: Blueprint,
    cfg: ExecutionConfig,
    node_id: str,
    completed: Completions,
    notes: dict[str, dict[str, Any]],
) -> None:
    """Give ``node_id``'s upstreams the ``node_input``, and refuse a node left without input."""
    upstream = upstream_map(model)[node_id]
    if "node_input" in cfg.model_fields_set:
        if not upstream:
            raise ConfigError(
                f"node {node_id!r} has no upstream: it takes the blueprint inputs",
                where="config.node_input",
            )
        given = cfg.node_input
        if len(upstream) > 1 and not (
            isinstance(given, Mapping) and all(source in given for source, _ in upstream)
        ):
            names = ", ".join(repr(source) for source, _ in upstream)
            raise ConfigError(
                f"node {node_id!r} has several upstreams: node_input is an object with "
                f"a value for each of {names}",
                where="config.node_input",
            )
        for source, port in upstream:
            value = given if len(upstream) == 1 else given[source]
            completed[source] = (value, port)
            notes[source] = {"reason": NodeReason.GIVEN_INPUT.value}
    for source, port in upstream:
        if source in completed and port is not None:
            # "Run this node": its upstream's output reaches it whatever port it took.
            completed[source] = (completed[source][0], port)
    missing = [source for source, _port in upstream if source not in completed]
    if missing:
        names = ", ".join(repr(source) for source in missing)
        raise NodeInputError(
            f"node {node_id!r} has no input: upstream {names} has no recorded output and "
            "no pin; run the blueprint first, pin it, or give the input (node_input)",
            where="config.only",
            node_id=node_id,
        )


def resume_scope(model: Blueprint, cfg: ExecutionConfig, recorded: Completions) -> RunScope:
    """The scope of a resumed run: what the original config selected and pinned, over
    the completions it recorded (pins it had not recorded yet are recorded now)."""
    selected: frozenset[str] | None = None
    above: set[str] | None = None
    target = cfg.only or cfg.stop_after
    if target is not None and model.node(target) is not None:
        above = ancestors(model, target)
        selected = frozenset({target} if cfg.only else above | {target})
    completed, notes = dict(recorded), {}
    pins: dict[str, dict[str, Any]] = {}
    _add_pins(cfg, completed, pins, within=above)
    for node_id, note in pins.items():
        if node_id in recorded:
            completed[node_id] = recorded[node_id]
        else:
            notes[node_id] = note
    return RunScope(completed, notes, selected, target)
