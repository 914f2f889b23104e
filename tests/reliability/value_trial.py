"""Values that do not serialise, through every transport (issue 11, item 4): the
figures ``bench/reliability.py`` reports. Each case runs on direct, ipc and http;
an execution a value leaves ``running`` (or that does not end in time) is counted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from app.json_values import dumps
from app.states import ExecutionStatus
from tests.main_process.http_harness import open_conductor
from tests.value_functions import nested

#: Each case and how it must end: JSON up to 1,000 levels completes, the rest fail typed.
CASES: list[tuple[dict[str, Any], bool]] = [
    ({"kind": "deep", "depth": 260}, True),
    ({"kind": "deep", "depth": 1000}, True),
    ({"kind": "deep", "depth": 1001}, False),
    ({"kind": "deep", "depth": 100_000}, False),
    ({"kind": "bytes"}, False),
    ({"kind": "object"}, False),
    ({"kind": "set"}, False),
    ({"kind": "cycle"}, False),
    ({"kind": "bigint"}, False),
]

BLUEPRINT = {
    "id": "values",
    "nodes": [
        {
            "id": "make",
            "type": "python.function",
            "params": {"function": "tests.value_functions:make"},
            "timeout": 30,
        }
    ],
}


async def value_trial(tmp: Path, seconds: float = 60.0) -> dict[str, Any]:
    """Every case on every transport: how many ended as they must, and how many were
    left ``running``, hung past ``seconds``, or ended some other way."""
    figures: dict[str, Any] = {
        "executions": 0,
        "as_expected": 0,
        "left_running": 0,
        "hangs": 0,
        "wrong_outcomes": [],
    }
    began = time.perf_counter()
    for transport in ("direct", "ipc", "http"):
        home = tmp / transport / "home"
        home.mkdir(parents=True, mode=0o700)
        async with open_conductor(transport, home, tmp / transport) as conductor:
            for spec, completes in CASES:
                figures["executions"] += 1
                try:
                    async with asyncio.timeout(seconds):
                        eid = await conductor.start(blueprint=BLUEPRINT, inputs=spec)
                        result = await conductor.wait(eid)
                except TimeoutError:
                    figures["hangs"] += 1
                    continue
                stored = await conductor.get_execution(eid)
                if not stored.status.is_terminal:
                    figures["left_running"] += 1
                if _as_expected(result, completes, spec):
                    figures["as_expected"] += 1
                else:
                    figures["wrong_outcomes"].append([transport, spec["kind"], str(result.status)])
    figures["seconds"] = round(time.perf_counter() - began, 1)
    return figures


def _as_expected(result: Any, completes: bool, spec: dict[str, Any]) -> bool:
    if completes:
        expected = dumps(nested(int(spec["depth"])))
        return result.status is ExecutionStatus.COMPLETED and dumps(result.outputs) == expected
    error = result.error
    return (
        result.status is ExecutionStatus.FAILED
        and error is not None
        and error.type == "NodeOutputError"
        and error.node_id == "make"
    )
