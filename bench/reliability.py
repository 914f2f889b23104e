"""Reliability figures: crash injection, fuzzed input and load, shortened.

    python bench/reliability.py [--json] [--seed N]

Runs a shortened version of issue 6's three trials (a few minutes on two cores)
and prints what was tried and what went wrong; every "went wrong" figure should
be zero. The full runs are the ``slow`` tests:
``.venv/bin/pytest -m slow tests/reliability``.

* crash: the 53-node crash blueprint through the pipe worker (every fault point,
  20 random kills) and through ``conductor serve`` (three fault points, 10 random
  kills); after each kill the checks of :mod:`tests.reliability.crash_harness`.
* fuzz: malformed frames against one live worker, hypothesis blueprints through
  validate and execute on direct, ipc and http, schemathesis against the
  server's own OpenAPI document.
* load: 200 concurrent executions through ``conductor serve`` and through the
  pipe (examples, failing and cancelled ones), health checks throughout, memory
  before and after; and a stalled SSE client during a 200,000-event run.
* hostile: 150 hostile templates, JMESPath expressions and YAML documents in child
  processes under a 2 GiB address-space limit (typed failures, untyped ones, crashes),
  then hostile blueprints through a real engine while a 5 ms ticker measures the
  longest time the loop was unavailable (one at a time, and all at once).
* ownership: an owner's loop blocked 20 s while ``history`` and ``resume`` run
  beside it; double runs after it (rows written or completions beyond one).
* values: deep and non-JSON node outputs on direct, ipc and http;
  ``executions_left_running_by_a_value`` (left running or hung) must be 0.
* store: runs while another process holds SQLite's write lock past the busy
  timeout and, as root, on a tmpfs that fills mid-run (freed after 1.5 s, or
  never): ``reported_finished_with_incomplete_record`` must be 0. The crash
  trials count ``finished_nodes_rerun_after_kill`` (must be 0; nodes caught
  running by a kill are counted apart, ``inflight_reruns_after_kill``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

from tests.reliability.blocked_owner import blocked_owner_trial  # noqa: E402
from tests.reliability.crash_harness import run_crash_suite  # noqa: E402
from tests.reliability.fuzz_harness import (  # noqa: E402
    fuzz_blueprints,
    fuzz_http_schema,
    fuzz_ipc_frames,
)
from tests.reliability.hostile_harness import fuzz_hostile, loop_unavailability  # noqa: E402
from tests.reliability.load_crowd import stalled_crowd  # noqa: E402
from tests.reliability.load_harness import load_http, load_ipc  # noqa: E402
from tests.reliability.load_stalled import stalled_sse  # noqa: E402
from tests.reliability.store_faults import store_fault_trial  # noqa: E402
from tests.reliability.value_trial import value_trial  # noqa: E402

_SERVE_POINTS = ("node.after_run", "store.after_completion_write", "resume.after_first_node")


async def _timed(
    label: str, work: Callable[[], Awaitable[dict[str, Any]]], quiet: bool
) -> dict[str, Any]:
    if not quiet:
        print(f"… {label}", file=sys.stderr, flush=True)
    began = time.perf_counter()
    figures = await work()
    figures["seconds"] = round(time.perf_counter() - began, 1)
    return figures


async def crash(seed: int, quiet: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="conductor-crash-") as tmp:
        worker = await _timed(
            "crash: pipe worker",
            lambda: run_crash_suite(Path(tmp) / "w", kinds=("worker",), random_kills=20, seed=seed),
            quiet,
        )
        serve = await _timed(
            "crash: conductor serve",
            lambda: run_crash_suite(
                Path(tmp) / "s",
                kinds=("serve",),
                fault_points=_SERVE_POINTS,
                random_kills=10,
                seed=seed,
            ),
            quiet,
        )
    return {"worker": _crash_summary(worker["worker"]), "serve": _crash_summary(serve["serve"])}


def _crash_summary(figures: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "kills",
        "kills_by_fault_point",
        "random_kills",
        "kills_after_completion",
        "executions",
        "executions_stuck",
        "integrity_failures",
        "outcomes_lost",
        "outcomes_duplicated",
        "output_mismatches",
        "seq_gaps",
        "incomplete_executions",
        "side_effects_missing",
        "side_effects_excess",
        "side_effect_reruns",
        "finished_nodes_rerun_after_kill",
        "inflight_reruns_after_kill",
        "most_reruns_per_kill",
        "faults_not_fired",
        "problems",
        "seconds",
    )
    return {key: figures[key] for key in keep}


async def store(quiet: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="conductor-store-") as tmp:
        return await _timed(
            "store: lock storm, disk full", lambda: store_fault_trial(Path(tmp)), quiet
        )


async def fuzz(seed: int, quiet: bool) -> dict[str, Any]:
    report: dict[str, Any] = {}
    report["ipc_frames"] = await _timed(
        "fuzz: IPC frames", lambda: fuzz_ipc_frames(3000, seed), quiet
    )
    for transport in ("direct", "ipc", "http"):
        report[f"blueprints_{transport}"] = await _timed(
            f"fuzz: blueprints over {transport}",
            lambda t=transport: fuzz_blueprints(t, 150, seed),  # type: ignore[misc]
            quiet,
        )
    report["openapi"] = await _timed(
        "fuzz: schemathesis", lambda: fuzz_http_schema(25, seed), quiet
    )
    return report


async def hostile(seed: int, quiet: bool) -> dict[str, Any]:
    """Hostile templates, JMESPath and YAML in children under RLIMIT_AS; then hostile
    blueprints through a real engine while a 5 ms ticker measures the loop."""
    fuzz_run = await _timed("hostile: fuzz under RLIMIT_AS", lambda: fuzz_hostile(150, seed), quiet)
    one_by_one = await _timed("hostile: loop, one at a time", loop_unavailability, quiet)
    together = await _timed(
        "hostile: loop, all at once", lambda: loop_unavailability(concurrent=True), quiet
    )
    return {
        "inputs_tried": fuzz_run["cases"] + one_by_one["executions"] + together["executions"],
        "typed_failures": fuzz_run["typed_failures"]
        + one_by_one["failed_typed"]
        + together["failed_typed"],
        "untyped_failures": fuzz_run["untyped_failures"],
        "crashes": fuzz_run["crashes"],
        "memory_errors": fuzz_run["memory_errors"],
        "over_time": fuzz_run["over_time"],
        "longest_loop_unavailable_ms": one_by_one["worst_loop_stall_ms"],
        "longest_loop_unavailable_ms_all_at_once": together["worst_loop_stall_ms"],
        "fuzz": fuzz_run,
    }


async def load(quiet: bool) -> dict[str, Any]:
    report: dict[str, Any] = {}
    report["serve"] = await _timed("load: 200 through serve", lambda: load_http(200), quiet)
    report["pipe"] = await _timed("load: 200 through the pipe", lambda: load_ipc(200), quiet)
    report["stalled_sse"] = await _timed(
        "load: stalled SSE client", lambda: stalled_sse(200_000), quiet
    )
    return report


async def stalled_sse_crowd(quiet: bool) -> dict[str, Any]:
    """Issue 11: 200 SSE clients of one 20,000-event run that never read, against a
    ``conductor serve`` with its default event-stream budget; then each drains it (see
    :mod:`tests.reliability.load_crowd`). ``rss_ratio`` is peak over idle (bar: 2)."""
    return await _timed("load: 200 stalled SSE clients", lambda: stalled_crowd(200, 20_000), quiet)


async def blocked_owner(quiet: bool) -> dict[str, Any]:
    """Issue 11: a ``conductor run`` whose loop is blocked 20 s while ``history`` and
    ``resume`` run beside it (see :mod:`tests.reliability.blocked_owner`)."""
    with tempfile.TemporaryDirectory(prefix="conductor-blocked-") as tmp:
        return await _timed(
            "ownership: a loop blocked 20 s", lambda: blocked_owner_trial(Path(tmp)), quiet
        )


async def values(quiet: bool) -> dict[str, Any]:
    """Issue 11: deep (260 … 100,000 levels) and non-JSON outputs (bytes, object, set,
    cycle, a huge int) on direct, ipc and http (see :mod:`tests.reliability.value_trial`)."""
    with tempfile.TemporaryDirectory(prefix="conductor-values-") as tmp:
        return await _timed(
            "values: deep and non-JSON outputs", lambda: value_trial(Path(tmp)), quiet
        )


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The figures issue 6 names, summed where they come from several runs."""
    crash_runs = list(report["crash"].values())
    fuzz_runs = report["fuzz"]
    load_runs = [report["load"]["serve"], report["load"]["pipe"]]
    return {
        "kills_done": sum(c["kills"] for c in crash_runs),
        "executions_stuck": sum(c["executions_stuck"] for c in crash_runs),
        "outcomes_lost": sum(c["outcomes_lost"] for c in crash_runs),
        "outcomes_duplicated": sum(c["outcomes_duplicated"] for c in crash_runs),
        "integrity_failures": sum(c["integrity_failures"] for c in crash_runs),
        "finished_nodes_rerun_after_kill": sum(
            c["finished_nodes_rerun_after_kill"] for c in crash_runs
        ),
        "inflight_reruns_after_kill": sum(c["inflight_reruns_after_kill"] for c in crash_runs),
        "reported_finished_with_incomplete_record": report["store"][
            "reported_finished_with_incomplete_record"
        ],
        "store_fault_runs": report["store"]["runs"],
        "fuzz_cases": {name: run.get("cases") for name, run in fuzz_runs.items()},
        "fuzz_crashes": sum(run.get("crashes", 0) for run in fuzz_runs.values()),
        "fuzz_hangs": sum(run.get("hangs", 0) for run in fuzz_runs.values()),
        "fuzz_untyped_errors": sum(run.get("untyped_errors", 0) for run in fuzz_runs.values()),
        "fuzz_wrong_answers_incl_5xx": sum(
            run.get("wrong_answers", 0) for run in fuzz_runs.values()
        ),
        "concurrent_executions_held": [run.get("executions") for run in load_runs],
        "incomplete_event_streams": sum(run.get("incomplete_streams", 0) for run in load_runs),
        "memory_mb_before_after": [
            [run.get("rss_before_mb"), run.get("rss_after_mb")] for run in load_runs
        ],
        "health_failures": sum(run.get("health_failures", 0) for run in load_runs),
        "stalled_sse_growth_mb": report["load"]["stalled_sse"].get("growth_mb"),
        "hostile_inputs_tried": report["hostile"]["inputs_tried"],
        "hostile_untyped_failures": report["hostile"]["untyped_failures"],
        "hostile_crashes": report["hostile"]["crashes"],
        "hostile_longest_loop_unavailable_ms": report["hostile"]["longest_loop_unavailable_ms"],
        "double_runs_after_blocked_loop": report["blocked_owner"]["double_runs"],
        "executions_left_running_by_a_value": report["values"]["left_running"]
        + report["values"]["hangs"],
        "server_rss_ratio_200_stalled_sse": report["stalled_sse_crowd"]["rss_ratio"],
    }


async def main_async(seed: int, quiet: bool) -> dict[str, Any]:
    report: dict[str, Any] = {}
    report["crash"] = await crash(seed, quiet)
    report["store"] = await store(quiet)
    report["fuzz"] = await fuzz(seed, quiet)
    report["load"] = await load(quiet)
    report["hostile"] = await hostile(seed, quiet)
    report["blocked_owner"] = await blocked_owner(quiet)
    report["values"] = await values(quiet)
    report["stalled_sse_crowd"] = await stalled_sse_crowd(quiet)
    report["headline"] = headline(report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random choices")
    args = parser.parse_args()
    report = asyncio.run(main_async(args.seed, quiet=args.json))
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return
    for key, value in report["headline"].items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
