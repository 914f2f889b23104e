"""Automation figures (issue 13): webhooks, schedules and loops.

    python bench/automation.py [--json] [--only SECTION ...]

Each section lives in its own module (``bench/automation_<name>.py``) with one
``run() -> dict[str, float]`` that starts what it needs (a real ``conductor serve``, a
real engine on a temp data dir) and returns its figures; this file only runs them and
prints. The targets the issue names:

* webhook: round trip over ``serve``, p99 ≤ 50 ms over 1,000 requests of a 3-node
  blueprint (``webhook_p99_ms``);
* schedule: fire jitter ≤ 1 s (``schedule_jitter_max_s``);
* loop: 10,000 iterations of a trivial body ≤ 5 s (``loop_10k_s``) with a peak memory
  increase ≤ 50 MB (``loop_10k_peak_mb``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

#: Section name → module under ``bench/`` with ``run() -> dict[str, float]``.
SECTIONS: list[str] = ["llm", "schedule", "loop", "secrets", "webhook"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    for name in args.only or SECTIONS:
        started = time.perf_counter()
        module = importlib.import_module(f"bench.automation_{name}")
        report[name] = module.run()
        report[name]["section_seconds"] = round(time.perf_counter() - started, 1)
        if not args.json:
            print(name, json.dumps(report[name], indent=2), flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
