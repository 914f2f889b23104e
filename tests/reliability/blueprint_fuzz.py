"""Fuzzed blueprints through ``validate`` and ``execute`` on one transport.

Each case (see :mod:`tests.reliability.blueprint_cases`) is validated, then run if
it names only safe node types. What is judged:

* no call raises anything but a typed :class:`~app.errors.ConductorError` (a bare
  ``TypeError`` escaping, or an error that came back as the untyped base, counts as
  untyped; a transport error means the engine behind it broke and counts as a crash);
* every error and every problem names its place (``where`` or the node id);
* no call outlives ``timeout`` (a hang);
* ``validate`` and ``execute`` agree: problems ⇔ BlueprintError, and a valid case
  has no problems at all;
* afterwards the same conductor still runs a small blueprint to success.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from app import Conductor
from app.errors import BlueprintError, ConductorError, Problem, TransportError
from app.results import ExecutionResult
from tests.main_process.http_harness import open_conductor
from tests.reliability.blueprint_cases import (
    BlueprintCase,
    clamp_delays,
    generate,
    safe_to_execute,
)
from tests.reliability.figures import Figures

#: Each run may take this long before the engine cancels it (a second line of
#: defence behind the clamped delays).
RUN_TIMEOUT = 10.0
_PROBE = {"id": "probe", "nodes": [{"id": "a", "type": "set", "params": {"value": 41}}]}


@lru_cache(maxsize=4)
def _cases(n: int, seed: int) -> tuple[BlueprintCase, ...]:
    """Generated once per (n, seed): every transport gets the very same cases."""
    return tuple(generate(n, seed))


def _unnamed(exc: ConductorError) -> str | None:
    """Why a typed error fails to say where, or None."""
    if isinstance(exc, BlueprintError):
        if not exc.problems:
            return None if exc.where else "a BlueprintError with no problems and no place"
        missing = [p for p in exc.problems if not _placed(p) and not exc.where]
        return f"problem without a place: {missing[0].message[:100]}" if missing else None
    if not (exc.where or exc.node_id):
        return f"{exc.type_name} names no place: {exc.message[:100]}"
    return None


def _placed(problem: Problem) -> bool:
    return bool(problem.where)


class _Runner:
    def __init__(self, conductor: Conductor, figures: Figures, timeout: float) -> None:
        self.c = conductor
        self.figures = figures
        self.timeout = timeout

    def typed(self, label: str, call: str, exc: BaseException) -> None:
        """Judge an exception a call raised."""
        what = f"{label}: {call} raised {type(exc).__name__}: {str(exc)[:160]}"
        if not isinstance(exc, ConductorError) or type(exc) is ConductorError:
            self.figures.untyped(what)
        elif isinstance(exc, TransportError):
            self.figures.crash(what)
        elif (why := _unnamed(exc)) is not None:
            self.figures.untyped(f"{label}: {call}: {why}")

    async def validate(self, case: BlueprintCase) -> list[Problem] | None:
        """The problems found, or None when the call itself failed."""
        try:
            problems = await asyncio.wait_for(self.c.validate(case.document), self.timeout)
        except TimeoutError:
            self.figures.hang(f"{case.label}: validate took over {self.timeout} s")
            return None
        except BlueprintError as exc:  # refused before validation: a typed answer
            self.typed(case.label, "validate", exc)
            return list(exc.problems) or [Problem(where=exc.where or "", message=exc.message)]
        except Exception as exc:
            self.typed(case.label, "validate", exc)
            return None
        for problem in problems:
            if not _placed(problem) and problem.code != "syntax":
                self.figures.untyped(
                    f"{case.label}: problem without a place: {problem.message[:100]}"
                )
        if case.valid and problems:
            self.figures.fail(f"{case.label}: a valid blueprint has problems: {problems[:2]}")
        return problems

    async def execute(self, case: BlueprintCase, problems: list[Problem] | None) -> None:
        config = {"timeout": RUN_TIMEOUT}
        try:
            result = await asyncio.wait_for(
                self.c.execute(blueprint=clamp_delays(case.document), config=config),
                self.timeout + RUN_TIMEOUT,
            )
        except TimeoutError:
            self.figures.hang(f"{case.label}: execute took over {self.timeout + RUN_TIMEOUT} s")
            return
        except BlueprintError as exc:
            self.typed(case.label, "execute", exc)
            if problems is not None and not problems:
                self.figures.fail(f"{case.label}: validate found nothing, execute refused: {exc}")
            return
        except Exception as exc:
            self.typed(case.label, "execute", exc)
            return
        if problems:
            self.figures.fail(f"{case.label}: validate found {problems[:1]}, execute ran anyway")
        self.judge_result(case, result)

    def judge_result(self, case: BlueprintCase, result: ExecutionResult) -> None:
        if result.success:
            return
        error = result.error
        if error is None or not error.message or not (error.where or error.node_id):
            self.figures.untyped(f"{case.label}: a failed run without a placed error: {error}")
        elif error.type == ConductorError.type_name:
            self.figures.untyped(f"{case.label}: a run failed untyped: {error.message[:160]}")

    async def serves(self) -> bool:
        try:
            result = await asyncio.wait_for(self.c.execute(blueprint=_PROBE), self.timeout)
        except Exception as exc:
            self.figures.note(f"after the run: {type(exc).__name__}: {exc}")
            return False
        return result.success and result.outputs == 41


async def fuzz_blueprints(
    transport: str,
    n: int,
    seed: int = 0,
    *,
    execute: bool = True,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """``n`` generated blueprints (valid and corrupted) through ``validate`` and, when
    ``execute``, ``execute`` on ``transport`` (``direct``, ``ipc`` or ``http``).

    Returns ``cases``, ``validated``, ``executed``, ``crashes``, ``hangs``,
    ``untyped_errors``, ``wrong_answers`` (validate and execute disagree, or a valid
    blueprint was refused), ``serves_after``, ``by_label`` and the first ``failures``.
    """
    started = time.perf_counter()
    cases = _cases(n, seed)
    generated = time.perf_counter() - started
    figures = Figures(f"blueprints/{transport}")
    executed = 0
    with tempfile.TemporaryDirectory(prefix="conductor-fuzz-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        async with open_conductor(transport, home, Path(tmp)) as c:
            runner = _Runner(c, figures, timeout)
            for case in cases:
                figures.tried(case.label)
                problems = await runner.validate(case)
                if execute and safe_to_execute(case.document):
                    executed += 1
                    await runner.execute(case, problems)
            serving = await runner.serves()
    return figures.result(
        transport=transport,
        executed=executed,
        serves_after=serving,
        generate_seconds=round(generated, 2),
        seconds=round(time.perf_counter() - started, 2),
    )
