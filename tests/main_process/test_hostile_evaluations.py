"""Templates and expressions written to hurt: bounded in time and size, loop kept free.

Each was seen on an earlier main: a nested-loop ``set`` template ran ten minutes on a
node with ``timeout: 2`` (on the loop, so nothing else ran either); lists multiplied
by templates took the process to 10.8 GB; ``[@,@] | [@,@] | …`` passed 6 GB.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from app.errors import BlueprintError, ErrorInfo
from app.states import ExecutionStatus, NodeStatus
from main_process.engine.engine import Engine
from tests.reliability.hostile_harness import LoopLag

NESTED_LOOPS = (
    "{% for a in range(99999) %}{% for b in range(99999) %}{{ a }}{% endfor %}{% endfor %}"
)


def one_node(node: dict[str, Any]) -> dict[str, Any]:
    return {"id": "hostile", "nodes": [{"id": "n", **node}]}


async def test_a_nested_loop_template_stops_at_its_node_timeout(engine: Engine) -> None:
    blueprint = one_node({"type": "set", "params": {"value": NESTED_LOOPS}, "timeout": 1.5})
    with LoopLag() as lag:
        started = time.monotonic()
        other = asyncio.ensure_future(
            engine.execute(blueprint=one_node({"type": "set", "params": {"value": 1}}))
        )
        result = await engine.execute(blueprint=blueprint)
        took = time.monotonic() - started
    assert result.status is ExecutionStatus.FAILED
    node = result.nodes["n"]
    assert node.status is NodeStatus.FAILED
    assert node.error is not None and node.error.type in ("NodeTimeoutError", "TemplateError")
    assert 1.4 < took < 3.5, took
    assert (await other).status is ExecutionStatus.COMPLETED  # ran while the template did
    # The loop kept serving: well under the 1.5 s the template ran (100 ms is the bench's bar;
    # this shared machine gets a margin).
    assert lag.worst < 0.5, lag.worst


async def test_the_evaluation_thread_stops_soon_after_the_timeout(engine: Engine) -> None:
    import threading

    blueprint = one_node({"type": "set", "params": {"value": NESTED_LOOPS}, "timeout": 0.5})
    result = await engine.execute(blueprint=blueprint)
    assert result.status is ExecutionStatus.FAILED
    deadline = time.monotonic() + 3
    while any(t.name.startswith("conductor-eval") and _busy(t) for t in threading.enumerate()):
        assert time.monotonic() < deadline, "an evaluation thread kept running"
        await asyncio.sleep(0.02)


def _busy(thread: object) -> bool:
    """An evaluation pool thread is busy while a TimeLimit of it is registered."""
    from app import evaluation_limits

    ident = getattr(thread, "ident", None)
    active = evaluation_limits._WATCHDOG._active.values()
    return any(limit.thread_id == ident for limit in active)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("{{ [input] * 10000000 }}", "'*' would build"),
        (
            "{% set ns = namespace(v=[1]) %}{% for i in range(60) %}"
            "{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v|tojson }}",
            "value budget",
        ),
        ("{{ 'x'|center(10000000000) }}", "too large"),
        ("{{ '{:>9999999999}'.format(1) }}", "widths and precisions"),
        ("{{ '%9999999999d' % 1 }}", "widths and precisions"),
    ],
)
async def test_templates_that_build_too_much_fail_naming_the_node(
    engine: Engine, value: str, fragment: str
) -> None:
    result = await engine.execute(
        blueprint=one_node({"type": "set", "params": {"value": value}}), inputs={"a": 1}
    )
    assert result.status is ExecutionStatus.FAILED
    error = result.nodes["n"].error
    assert error is not None and error.type == "TemplateError"
    assert fragment in error.message
    assert error.where is not None and "params.value" in error.where


async def test_a_shared_template_value_is_measured_before_it_is_recorded(engine: Engine) -> None:
    value = (
        "{% set ns = namespace(v=[1]) %}{% for i in range(60) %}"
        "{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v }}"
    )
    result = await engine.execute(blueprint=one_node({"type": "set", "params": {"value": value}}))
    assert result.status is ExecutionStatus.FAILED
    error = result.nodes["n"].error
    assert error is not None and "value budget" in error.message


@pytest.mark.parametrize(
    "expression",
    [
        " | ".join(["[@,@]"] * 40),
        " | ".join(["[@,@]"] * 40) + " | to_string(@)",
        " | ".join(["[@,@][]"] * 30),
    ],
)
async def test_jmespath_that_builds_too_much_fails(engine: Engine, expression: str) -> None:
    node = {"type": "json.transform", "params": {"expression": expression}, "timeout": 20}
    result = await engine.execute(blueprint=one_node(node), inputs={"x": 1})
    assert result.status is ExecutionStatus.FAILED
    error = result.nodes["n"].error
    assert error is not None
    assert "value budget" in error.message or "took longer" in error.message, error.message


async def test_jmespath_stops_at_its_node_timeout(engine: Engine) -> None:
    # Doubling a real list every step: slow pure Python, stopped by the node's timeout
    # (or the items budget, whichever comes first) — never minutes later.
    node = {
        "type": "json.transform",
        "params": {"expression": " | ".join(["[@,@][]"] * 30)},
        "timeout": 0.5,
    }
    started = time.monotonic()
    result = await engine.execute(blueprint=one_node(node), inputs={"x": 1})
    assert result.status is ExecutionStatus.FAILED
    assert time.monotonic() - started < 3


async def test_ordinary_templates_and_expressions_still_work(engine: Engine) -> None:
    blueprint = {
        "id": "fine",
        "nodes": [
            {"id": "a", "type": "set", "params": {"value": "{{ [1, 2] * 3 }}"}},
            {"id": "b", "type": "set", "params": {"value": "{{ input + [7] }}"}},
            {"id": "c", "type": "json.transform", "params": {"expression": "[@, length(@)]"}},
            {"id": "d", "type": "set", "params": {"value": "{{ '%05d' % input[1] }}"}},
        ],
    }
    result = await engine.execute(blueprint=blueprint)
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs == "00007"
    assert result.nodes["c"].output == [[1, 2, 1, 2, 1, 2, 7], 7]


# Found by tests/reliability/test_hostile_fuzz.py (each escaped a bound on this branch's base).


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        # Minutes of big-number multiplication inside one C call.
        ("{{ (9 ** 9999) ** 9999 }}", "bits"),
        (
            "{% set ns = namespace(v=3) %}{% for i in range(60) %}"
            "{% set ns.v = ns.v * ns.v %}{% endfor %}{{ ns.v > 1 }}",
            "bits",
        ),
        # Joining a string joins its characters: s|join(s) is len(s)**2, nested thrice
        # a MemoryError under a 2 GiB address space.
        (
            "{{ ((input.s|join(input.s))|join(input.s|join(input.s)))"
            "|join((input.s|join(input.s))|join(input.s|join(input.s))) }}",
            "join would build",
        ),
        ("{{ ('ab' * 1000).join(('ab' * 1000).join(['ab' * 1000] * 3000)) }}", "str.join"),
        # A separator that is not text is joined as its text.
        (
            "{{ (input|string|join([input, input]))|string"
            "|join([input|string|join([input, input])]) }}",
            "join would build",
        ),
        # Python's compiler refuses a hundred nested blocks (IndentationError, untyped).
        ("{% if true %}" * 120 + "x" + "{% endif %}" * 120, "nested too deeply"),
    ],
)
async def test_fuzz_found_templates_fail_typed(engine: Engine, value: str, fragment: str) -> None:
    started = time.monotonic()
    error = await _failure(
        engine,
        one_node({"type": "set", "params": {"value": value}, "timeout": 5}),
        {"s": "a" * 30, "t": "b" * 300},
    )
    assert time.monotonic() - started < 3
    assert error is not None and error.type in ("TemplateError", "BlueprintError"), error
    assert fragment in error.message or any(fragment in p.message for p in error.problems)


async def _failure(engine: Engine, blueprint: dict[str, Any], inputs: Any) -> ErrorInfo | None:
    """The node's error, or the blueprint's when it is refused before running."""
    try:
        result = await engine.execute(blueprint=blueprint, inputs=inputs)
    except BlueprintError as exc:
        return exc.to_info()
    assert result.status is ExecutionStatus.FAILED
    return result.nodes["n"].error


@pytest.mark.parametrize(
    "expression",
    [
        "keys(@) | [?@] | [::-1]",  # a slice's numbers were walked as nodes: TypeError
        "!" * 3000 + "@",  # the interpreter's recursion
        "not_null(" * 3000 + "@" + ")" * 3000,  # the parser's recursion
    ],
)
async def test_fuzz_found_expressions_fail_typed_or_succeed(
    engine: Engine, expression: str
) -> None:
    node = {"type": "json.transform", "params": {"expression": expression}}
    try:
        result = await engine.execute(blueprint=one_node(node), inputs={"x": 1})
    except BlueprintError as exc:
        error: ErrorInfo | None = exc.to_info()
    else:
        if result.status is ExecutionStatus.COMPLETED:
            return
        error = result.nodes["n"].error
    assert error is not None and error.type in ("NodeFailedError", "BlueprintError"), error
    assert "Error" not in error.message.split(":", 1)[0]  # not a bare Python error's name


def test_huge_whole_numbers_are_measured_without_writing_them_out() -> None:
    from app.value_size import expanded_size

    assert 9000 < expanded_size([9**9999], 10**9) < 11000  # str() would raise past 4,300 digits
