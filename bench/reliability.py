"""Reliability figures: crash injection, fuzzed input and load, shortened.

    python bench/reliability.py [--json] [--seed N] [--only SECTION ...]

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
* orphans: ``kill -9`` of ``conductor run`` while its ``shell.command`` node has a
  child (plain, and ``setsid``), and a node past its timeout leaving a ``setsid``
  grandchild; ``orphans_left`` (alive 10 s later) must be 0.

Shape: :data:`SECTIONS` lists each section once, with the function that runs it and
the function that picks its headline figures from what it returned; a new trial is
one more line there and two functions of its own. ``--only`` runs some sections
(their headline figures only).
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
from tests.reliability.orphan_trial import orphan_trial  # noqa: E402
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


async def store(seed: int, quiet: bool) -> dict[str, Any]:
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


async def load(seed: int, quiet: bool) -> dict[str, Any]:
    report: dict[str, Any] = {}
    report["serve"] = await _timed("load: 200 through serve", lambda: load_http(200), quiet)
    report["pipe"] = await _timed("load: 200 through the pipe", lambda: load_ipc(200), quiet)
    report["stalled_sse"] = await _timed(
        "load: stalled SSE client", lambda: stalled_sse(200_000), quiet
    )
    return report


async def stalled_sse_crowd(seed: int, quiet: bool) -> dict[str, Any]:
    """Issue 11: 200 SSE clients of one 20,000-event run that never read, against a
    ``conductor serve`` with its default event-stream budget; then each drains it (see
    :mod:`tests.reliability.load_crowd`). ``rss_ratio`` is peak over idle (bar: 2)."""
    return await _timed("load: 200 stalled SSE clients", lambda: stalled_crowd(200, 20_000), quiet)


async def blocked_owner(seed: int, quiet: bool) -> dict[str, Any]:
    """Issue 11: a ``conductor run`` whose loop is blocked 20 s while ``history`` and
    ``resume`` run beside it (see :mod:`tests.reliability.blocked_owner`)."""
    with tempfile.TemporaryDirectory(prefix="conductor-blocked-") as tmp:
        return await _timed(
            "ownership: a loop blocked 20 s", lambda: blocked_owner_trial(Path(tmp)), quiet
        )


async def values(seed: int, quiet: bool) -> dict[str, Any]:
    """Issue 11: deep (260 … 100,000 levels) and non-JSON outputs (bytes, object, set,
    cycle, a huge int) on direct, ipc and http (see :mod:`tests.reliability.value_trial`)."""
    with tempfile.TemporaryDirectory(prefix="conductor-values-") as tmp:
        return await _timed(
            "values: deep and non-JSON outputs", lambda: value_trial(Path(tmp)), quiet
        )


async def orphans(seed: int, quiet: bool) -> dict[str, Any]:
    """Issue 11: a node's processes after ``kill -9`` of its engine and after its
    timeout (see :mod:`tests.reliability.orphan_trial`)."""
    return await _timed("orphans: kill -9 and timeouts", orphan_trial, quiet)


# -- headline figures, one function per section ------------------------------------


def crash_headline(section: dict[str, Any]) -> dict[str, Any]:
    runs = list(section.values())
    return {
        "kills_done": sum(c["kills"] for c in runs),
        "executions_stuck": sum(c["executions_stuck"] for c in runs),
        "outcomes_lost": sum(c["outcomes_lost"] for c in runs),
        "outcomes_duplicated": sum(c["outcomes_duplicated"] for c in runs),
        "integrity_failures": sum(c["integrity_failures"] for c in runs),
        "finished_nodes_rerun_after_kill": sum(c["finished_nodes_rerun_after_kill"] for c in runs),
        "inflight_reruns_after_kill": sum(c["inflight_reruns_after_kill"] for c in runs),
    }


def store_headline(section: dict[str, Any]) -> dict[str, Any]:
    return {
        "reported_finished_with_incomplete_record": section[
            "reported_finished_with_incomplete_record"
        ],
        "store_fault_runs": section["runs"],
        "store_disk_full": section["disk_full"],
    }


def fuzz_headline(section: dict[str, Any]) -> dict[str, Any]:
    runs = section.values()
    return {
        "fuzz_cases": {name: run.get("cases") for name, run in section.items()},
        "fuzz_crashes": sum(run.get("crashes", 0) for run in runs),
        "fuzz_hangs": sum(run.get("hangs", 0) for run in runs),
        "fuzz_untyped_errors": sum(run.get("untyped_errors", 0) for run in runs),
        "fuzz_wrong_answers_incl_5xx": sum(run.get("wrong_answers", 0) for run in runs),
    }


def load_headline(section: dict[str, Any]) -> dict[str, Any]:
    runs = [section["serve"], section["pipe"]]
    return {
        "concurrent_executions_held": [run.get("executions") for run in runs],
        "incomplete_event_streams": sum(run.get("incomplete_streams", 0) for run in runs),
        "memory_mb_before_after": [
            [run.get("rss_before_mb"), run.get("rss_after_mb")] for run in runs
        ],
        "health_failures": sum(run.get("health_failures", 0) for run in runs),
        "stalled_sse_growth_mb": section["stalled_sse"].get("growth_mb"),
    }


def hostile_headline(section: dict[str, Any]) -> dict[str, Any]:
    return {
        "hostile_inputs_tried": section["inputs_tried"],
        "hostile_untyped_failures": section["untyped_failures"],
        "hostile_crashes": section["crashes"],
        "hostile_longest_loop_unavailable_ms": section["longest_loop_unavailable_ms"],
        "hostile_longest_loop_unavailable_ms_all_at_once": section[
            "longest_loop_unavailable_ms_all_at_once"
        ],
    }


def blocked_owner_headline(section: dict[str, Any]) -> dict[str, Any]:
    return {"double_runs_after_blocked_loop": section["double_runs"]}


def values_headline(section: dict[str, Any]) -> dict[str, Any]:
    return {"executions_left_running_by_a_value": section["left_running"] + section["hangs"]}


def stalled_sse_crowd_headline(section: dict[str, Any]) -> dict[str, Any]:
    return {"server_rss_ratio_200_stalled_sse": section["rss_ratio"]}


def orphans_headline(section: dict[str, Any]) -> dict[str, Any]:
    if "skipped" in section:
        return {"orphans_left": section["skipped"]}
    return {
        "orphans_left": section["orphans_left"],
        "orphan_processes_watched": section["processes_watched"],
    }


Runner = Callable[[int, bool], Awaitable[dict[str, Any]]]
Headline = Callable[[dict[str, Any]], dict[str, Any]]

#: Every section in the order it runs: its name in the report, what runs it, and
#: what it adds to the headline.
SECTIONS: list[tuple[str, Runner, Headline]] = [
    ("crash", crash, crash_headline),
    ("store", store, store_headline),
    ("fuzz", fuzz, fuzz_headline),
    ("load", load, load_headline),
    ("hostile", hostile, hostile_headline),
    ("blocked_owner", blocked_owner, blocked_owner_headline),
    ("orphans", orphans, orphans_headline),
    ("values", values, values_headline),
    ("stalled_sse_crowd", stalled_sse_crowd, stalled_sse_crowd_headline),
]


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The figures issues 6 and 11 name, each section's summed where it ran several."""
    figures: dict[str, Any] = {}
    for name, _, pick in SECTIONS:
        if name in report:
            figures.update(pick(report[name]))
    return figures


async def main_async(seed: int, quiet: bool, only: list[str] | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {}
    began = time.perf_counter()
    for name, run, _ in SECTIONS:
        if only is None or name in only:
            report[name] = await run(seed, quiet)
    report["headline"] = headline(report)
    report["seconds"] = round(time.perf_counter() - began, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random choices")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[name for name, _, _ in SECTIONS],
        help="run only these sections",
    )
    args = parser.parse_args()
    report = asyncio.run(main_async(args.seed, quiet=args.json, only=args.only))
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return
    for key, value in report["headline"].items():
        print(f"{key:40} {value}")
    print(f"{'seconds':40} {report['seconds']}")


if __name__ == "__main__":
    main()
