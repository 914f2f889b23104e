"""Kill -9 the process that runs the engine, at every fault point and at random
moments, then restart, resume, and check that nothing recorded was lost or doubled.

A *scenario* is one execution of the crash blueprint (:func:`crash_blueprint`,
53 nodes in five parallel lanes) through one kind of engine process
(:mod:`tests.reliability.crash_hosts`). It has one or more *phases*: each
starts a fresh engine process — with a fault point armed in its environment, or
to be SIGKILLed after a random delay — which starts the execution (first phase)
or resumes it (later ones). A last, undisturbed phase resumes it to the end.

After every kill, with the engine's process dead and before anything restarts:
``PRAGMA integrity_check`` is ``ok``, and the nodes that ran their side effect in
the dead process without a recorded completion are counted as *hit* by that kill.
After every restart: no execution of the data dir is ``running`` or ``pending``.
At the end: the execution completed; every node has exactly one recorded
completion (in ``node_runs`` and as a ``completed`` event); outputs equal an
uninterrupted run's; the event ``seq`` is 1..N without gaps or repeats, in the
store and through the transport; and each node's side effect ran at least once
and at most once more than the kills that hit it while it ran. A kill may only
hit nodes in flight: a node whose output a downstream node had consumed in the
killed process has a committed completion and never runs again
(``finished_nodes_rerun_after_kill``, 0); in-flight re-runs are counted apart.

:func:`run_crash_suite` returns the figures ``bench/reliability.py`` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import create_conductor
from main_process.faults import POINTS
from tests.reliability.crash_checks import (
    Figures,
    completion_records,
    completions,
    events,
    side_effects,
)
from tests.reliability.crash_hosts import Host, open_host

LANES, DEPTH = 5, 10
_FN = "tests.reliability.crash_nodes"
_DB = "conductor.db"

#: How each fault point is armed for a scenario: the first phase's fault, then
#: the resume phase's (the ``resume.*`` points need an execution to resume first).
FAULT_SCENARIOS: dict[str, tuple[str, str | None]] = {
    "node.before_run": ("node.before_run@20", None),
    "node.after_run": ("node.after_run@20", None),
    "store.before_completion_write": ("store.before_completion_write@2", None),
    "store.after_completion_write": ("store.after_completion_write@2", None),
    "store.mid_event_batch": ("store.mid_event_batch@2", None),
    "resume.before_run": ("node.after_run@25", "resume.before_run"),
    "resume.after_first_node": ("node.after_run@25", "resume.after_first_node"),
}
assert set(FAULT_SCENARIOS) == set(POINTS), "every fault point needs a scenario"


def crash_blueprint() -> dict[str, Any]:
    """53 nodes: a start, five lanes of ten (thread and loop nodes alternating), a
    merge and a total. Every node but the merge has a side effect."""
    nodes: list[dict[str, Any]] = [_fn_node("start", "step")]
    edges: list[dict[str, str]] = []
    for lane in range(LANES):
        previous = "start"
        for depth in range(DEPTH):
            node_id = f"l{lane}n{depth}"
            nodes.append(_fn_node(node_id, "step" if (lane + depth) % 2 else "astep"))
            edges.append({"source": previous, "target": node_id})
            previous = node_id
        edges.append({"source": previous, "target": "join"})
    nodes.append({"id": "join", "type": "merge", "params": {"mode": "object"}})
    nodes.append(_fn_node("total", "total"))
    edges.append({"source": "join", "target": "total"})
    return {"id": "crash-test", "name": "Crash test", "nodes": nodes, "edges": edges}


def _fn_node(node_id: str, name: str) -> dict[str, Any]:
    return {"id": node_id, "type": "python.function", "params": {"function": f"{_FN}:{name}"}}


SIDE_EFFECT_NODES = [n["id"] for n in crash_blueprint()["nodes"] if n["id"] != "join"]


def _consumers() -> dict[str, tuple[str, ...]]:
    """For each node, the nodes with a side effect that start only after it finished:
    its targets, seen through the merge (which has none of its own)."""
    targets: dict[str, list[str]] = {}
    for edge in crash_blueprint()["edges"]:
        targets.setdefault(edge["source"], []).append(edge["target"])

    def witnesses(node_id: str) -> list[str]:
        found: list[str] = []
        for target in targets.get(node_id, []):
            found.extend([target] if target in SIDE_EFFECT_NODES else witnesses(target))
        return found

    return {node_id: tuple(witnesses(node_id)) for node_id in SIDE_EFFECT_NODES}


#: See :func:`_consumers`.
CONSUMERS = _consumers()


@dataclass
class Reference:
    """An uninterrupted run: the outputs to compare with, and how long it took."""

    outputs: Any
    node_outputs: dict[str, Any]
    seconds: float


async def reference_run(workdir: Path) -> Reference:
    """The crash blueprint run once, undisturbed, by an in-process engine."""
    home = workdir / "reference-home"
    conductor = create_conductor("direct", home=home, base_dir=workdir, plugins=False)
    try:
        began = time.perf_counter()
        result = await conductor.execute(
            blueprint=crash_blueprint(), inputs=_inputs(workdir / "reference.log")
        )
        seconds = time.perf_counter() - began
    finally:
        await conductor.close()
    assert result.success, result.error
    return Reference(result.outputs, {n: r.output for n, r in result.nodes.items()}, seconds)


def _inputs(log: Path, pause: float = 0.01) -> dict[str, Any]:
    return {"log": str(log), "seed": 7, "pause": pause}


Phase = tuple[str, Any]  # ("fault", spec) or ("random", delay seconds)


async def run_scenario(
    kind: str,
    home: Path,
    workdir: Path,
    reference: Reference,
    phases: list[Phase],
    figures: Figures,
    label: str,
) -> None:
    """One execution through ``phases`` of kills, then resumed to the end and checked."""
    log = workdir / f"effects-{label}.log"
    hits: Counter[str] = Counter()
    execution_id: str | None = None
    figures.executions += 1
    for phase_kind, arg in [*phases, ("finish", None)]:
        host = await open_host(kind, home, workdir, arg if phase_kind == "fault" else None)
        try:
            if execution_id is not None:
                await _check_after_restart(host, home, execution_id, figures, label)
            task: asyncio.Task[Any] | None = None
            if execution_id is None:
                execution_id = await host.conductor.start(
                    blueprint=crash_blueprint(), inputs=_inputs(log)
                )
            else:
                current = await host.conductor.get_execution(execution_id)
                if current.status != "completed":
                    task = asyncio.create_task(host.conductor.resume(execution_id))
            if phase_kind == "finish":
                await _finish(host, home, execution_id, task, reference, log, hits, figures, label)
                return
            if phase_kind == "fault":
                fired = await _wait_dead_or_done(host, execution_id, task)
                if not fired:
                    figures.faults_not_fired.append(f"{label}: {arg}")
                    continue
                figures.kills_by_fault_point[str(arg).split("@")[0].split(":")[0]] += 1
            else:
                await asyncio.sleep(float(arg))
                if (await _status(host, execution_id)) == "completed":
                    figures.kills_after_completion += 1
                await host.kill()
                figures.random_kills += 1
            figures.kills += 1
            _after_kill(home, execution_id, host.pid, log, hits, figures, label)
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            await host.close()


async def _status(host: Host, execution_id: str) -> str | None:
    try:
        return str((await host.conductor.get_execution(execution_id)).status)
    except Exception:
        return None  # the process is going down


async def _wait_dead_or_done(
    host: Host, execution_id: str, resuming: asyncio.Task[Any] | None, timeout: float = 120.0
) -> bool:
    """True once the armed fault killed the process; False if the run (or the
    resume in ``resuming``) ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not host.alive():
            return True
        if resuming is not None:
            ended = resuming.done()
        else:
            status = await _status(host, execution_id)
            ended = status is not None and status not in ("pending", "running")
        if ended:
            return await host.wait_dead(0.5)
        await asyncio.sleep(0.01)
    raise TimeoutError(f"neither the fault fired nor {execution_id} finished in {timeout} s")


def _after_kill(
    home: Path,
    execution_id: str,
    pid: int,
    log: Path,
    hits: Counter[str],
    figures: Figures,
    label: str,
) -> None:
    """With the process dead and nothing restarted: the file's integrity, and which
    nodes the kill hit (ran in that process, no completion recorded). A hit node
    whose consumer ran in that process too had finished: its completion was lost."""
    with contextlib.closing(sqlite3.connect(home / _DB)) as conn:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        done = completions(conn, execution_id)
    if verdict != "ok":
        figures.integrity_failures += 1
        figures.problem(f"{label}: integrity_check after the kill of {pid}: {verdict}")
    effects = side_effects(log)
    rerun = 0
    for node_id, ran_in in effects.items():
        if node_id not in done and str(pid) in ran_in:
            figures.side_effect_reruns += ran_in[str(pid)]
            if any(str(pid) in effects.get(c, {}) for c in CONSUMERS.get(node_id, ())):
                figures.finished_nodes_rerun_after_kill += 1
                figures.problem(f"{label}: {node_id} finished, then its completion was lost")
            else:
                hits[node_id] += ran_in[str(pid)]
                figures.inflight_reruns_after_kill += 1
                rerun += 1
    figures.most_reruns_per_kill = max(figures.most_reruns_per_kill, rerun)


async def _check_after_restart(
    host: Host, home: Path, execution_id: str, figures: Figures, label: str
) -> None:
    with contextlib.closing(sqlite3.connect(home / _DB)) as conn:
        stuck = conn.execute(
            "SELECT id, status FROM executions WHERE status IN ('running', 'pending')"
        ).fetchall()
    status = (await host.conductor.get_execution(execution_id)).status
    if stuck or status not in ("interrupted", "completed"):
        figures.executions_stuck += max(1, len(stuck))
        figures.problem(f"{label}: after a restart {execution_id} is {status}; stuck: {stuck}")


async def _finish(
    host: Host,
    home: Path,
    execution_id: str,
    task: asyncio.Task[Any] | None,
    reference: Reference,
    log: Path,
    hits: Counter[str],
    figures: Figures,
    label: str,
) -> None:
    if task is not None:
        await asyncio.wait_for(task, 120.0)
    result = await asyncio.wait_for(host.conductor.wait(execution_id), 120.0)
    if result.created_at is not None and result.finished_at is not None:
        figures.last_duration = result.finished_at - result.created_at
    if result.status != "completed":
        figures.incomplete_executions += 1
        figures.problem(f"{label}: ended {result.status}: {result.error}")
        return
    if result.outputs != reference.outputs or any(
        result.nodes[n].output != out for n, out in reference.node_outputs.items()
    ):
        figures.output_mismatches += 1
        figures.problem(f"{label}: outputs differ from an uninterrupted run's")
    streamed = [event.seq async for event in host.conductor.events(execution_id)]
    with contextlib.closing(sqlite3.connect(home / _DB)) as conn:
        seqs, completed_events = events(conn, execution_id)
        records = completion_records(conn, execution_id)
    if seqs != list(range(1, len(seqs) + 1)) or streamed != seqs:
        figures.seq_gaps += 1
        figures.problem(f"{label}: seq not 1..N (stored {len(seqs)}, streamed {len(streamed)})")
    for node_id in reference.node_outputs:
        recorded = records.get(node_id, 0)
        if recorded == 0 or completed_events.get(node_id, 0) == 0:
            figures.outcomes_lost += 1
            figures.problem(f"{label}: {node_id} has no recorded completion")
        extra = max(recorded, completed_events.get(node_id, 0)) - 1
        if extra > 0:
            figures.outcomes_duplicated += extra
            figures.problem(f"{label}: {node_id} completion recorded {extra + 1} times")
    effects = side_effects(log)
    for node_id in SIDE_EFFECT_NODES:
        ran = sum(effects.get(node_id, {}).values())
        if ran == 0:
            figures.side_effects_missing += 1
            figures.problem(f"{label}: {node_id}'s side effect never ran")
        elif ran > hits[node_id] + 1:
            figures.side_effects_excess += ran - hits[node_id] - 1
            figures.problem(f"{label}: {node_id} ran {ran} times, hit by {hits[node_id]} kills")


async def run_crash_suite(
    workdir: Path,
    *,
    kinds: tuple[str, ...] = ("worker", "serve"),
    fault_points: tuple[str, ...] = tuple(FAULT_SCENARIOS),
    random_kills: int = 100,
    seed: int = 1,
) -> dict[str, Any]:
    """Every fault point, then ``random_kills`` kills at random moments, per kind."""
    rng = random.Random(seed)
    reference = await reference_run(workdir)
    report: dict[str, Any] = {"reference_seconds": round(reference.seconds, 3)}
    for kind in kinds:
        began = time.perf_counter()
        figures = Figures()
        home = workdir / f"{kind}-home"
        for point in fault_points:
            first, then = FAULT_SCENARIOS[point]
            phases: list[Phase] = [("fault", first)]
            if then is not None:
                phases.append(("fault", then))
            await run_scenario(kind, home, workdir, reference, phases, figures, f"{kind}-{point}")
        window = await _run_window(kind, home, workdir, reference, figures)
        n = 0
        while figures.random_kills < random_kills:
            count = min(rng.randint(1, 3), random_kills - figures.random_kills)
            phases = [("random", rng.uniform(0.0, 0.8 * window)) for _ in range(count)]
            await run_scenario(kind, home, workdir, reference, phases, figures, f"{kind}-r{n}")
            n += 1
        report[kind] = {**figures.as_dict(), "seconds": round(time.perf_counter() - began, 1)}
        report[kind]["failures"] = figures.failures
    return report


async def _run_window(
    kind: str, home: Path, workdir: Path, reference: Reference, figures: Figures
) -> float:
    """How long an undisturbed run takes through this kind of process (the random
    kills land within it); the run is itself checked like any scenario."""
    await run_scenario(kind, home, workdir, reference, [], figures, f"{kind}-undisturbed")
    return max(0.05, figures.last_duration)
