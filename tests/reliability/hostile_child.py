"""The child process that evaluates hostile cases under an address-space limit.

    python -m tests.reliability.hostile_child AS_BYTES TIMEOUT  < cases.json

Reads a JSON list of ``[kind, text]`` cases on stdin and writes one JSON line per
case to stdout, flushed before the next case starts, so that when the process dies
(a crash, the kernel's OOM killer, a C call that never returns) the parent knows
which case did it. The address space is limited first (``RLIMIT_AS``): a case that
escapes the value budget meets a ``MemoryError`` here instead of taking the machine.

Each case runs the way the engine runs it: templates and JMESPath through
:func:`app.evaluation_limits.evaluate` on an event loop with ``TIMEOUT`` as the
node's timeout; YAML through :func:`app.blueprint_files.load_blueprint_text`, which
bounds itself. A case that hangs anyway is killed by the parent, which names it.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from tests.reliability.hostile_cases import INPUT


def _context() -> dict[str, Any]:
    return {
        "input": INPUT,
        "inputs": INPUT,
        "nodes": {},
        "vars": {},
        "execution": {"id": "fuzz"},
    }


async def _template(text: str, timeout: float) -> dict[str, Any]:
    from app.evaluation_limits import evaluate
    from app.templates import compile_template

    began = time.monotonic()
    compiled = compile_template(text, "params.value")  # timed (the engine: on a thread if big)
    compile_s = time.monotonic() - began
    value = await evaluate(
        lambda: compiled.render(_context()),
        timeout=timeout,
        where="params.value",
        what="the template",
    )
    _measure(value)
    return {"compile_s": round(compile_s, 4)}


async def _jmespath(text: str, timeout: float) -> dict[str, Any]:
    from app.errors import NodeFailedError
    from app.evaluation_limits import evaluate
    from main_process.nodes.data import TransformParams, _search

    try:
        params = TransformParams(expression=text)
    except ValueError as exc:  # pydantic refuses a bad expression: a typed refusal
        raise NodeFailedError(str(exc).splitlines()[0], where="params.expression") from None
    value = await evaluate(
        lambda: _search(params, INPUT),
        timeout=timeout,
        where="params.expression",
        what="the JMESPath expression",
    )
    _measure(value)
    return {}


def _yaml(text: str) -> dict[str, Any]:
    from app.blueprint_files import load_blueprint_text

    load_blueprint_text(text, "<fuzz>", "yaml")
    return {}


def _measure(value: Any) -> None:
    """What the engine does next with a result: measure and encode it."""
    from app.value_size import expanded_size, value_limit

    limit = value_limit()
    if expanded_size(value, limit) > limit:
        from app.errors import NodeFailedError

        raise NodeFailedError("the result is over the value budget", where="output")


async def _one(kind: str, text: str, timeout: float) -> dict[str, Any]:
    from app.errors import BlueprintError, ConductorError
    from app.evaluation_limits import EvaluationTimeout

    began = time.monotonic()
    row: dict[str, Any] = {"kind": kind}
    try:
        if kind == "template":
            row.update(await _template(text, timeout))
        elif kind == "jmespath":
            row.update(await _jmespath(text, timeout))
        else:
            row.update(_yaml(text))
        row["outcome"] = "ok"
    except ConductorError as exc:
        row["outcome"] = "typed"
        row["type"] = type(exc).__name__
        row["message"] = exc.message[:300]
        places = [exc.where, exc.node_id]
        if isinstance(exc, BlueprintError):
            places += [p.where for p in exc.problems]
            places.append("<blueprint>" if exc.problems else None)
        row["placed"] = any(p is not None for p in places)
        row["memory_error"] = "MemoryError" in exc.message
    except EvaluationTimeout:
        row["outcome"] = "hang"
    except Exception as exc:
        row["outcome"] = "untyped"
        row["type"] = type(exc).__name__
        row["message"] = str(exc)[:300]
    row["seconds"] = round(time.monotonic() - began, 4)
    return row


async def _main(timeout: float) -> None:
    cases = json.load(sys.stdin)
    for kind, text in cases:
        row = await _one(kind, text, timeout)
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()


def main() -> None:
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    asyncio.run(_main(float(sys.argv[2])))


if __name__ == "__main__":
    main()
