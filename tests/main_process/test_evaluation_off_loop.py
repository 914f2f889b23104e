"""What keeps an evaluation off the engine's loop: a cancelled evaluation stops at
once, a big blueprint is compiled on a thread, a replace of millions of matches is
done in pieces, and the registry's lazy types load safely from several threads.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from app import evaluation_limits, template_sandbox
from app.blueprint import Blueprint
from app.errors import TemplateError
from app.templates import compile_template
from main_process.engine.engine import Engine
from main_process.engine.plan import Plan
from main_process.nodes.base import NodeContext, NodeType
from main_process.nodes.registry import NodeRegistry
from tests.main_process.test_hostile_evaluations import NESTED_LOOPS


def _busy_evaluation_threads() -> int:
    active = list(evaluation_limits._WATCHDOG._active.values())
    names = {t.ident: t.name for t in threading.enumerate()}
    return sum(1 for limit in active if names.get(limit.thread_id, "").startswith("conductor-eval"))


async def test_a_cancelled_evaluation_stops_long_before_its_timeout() -> None:
    template = compile_template(NESTED_LOOPS, "params.value")
    task = asyncio.ensure_future(
        evaluation_limits.evaluate(
            lambda: template.render({}), timeout=60, where="params.value", what="cancel test"
        )
    )
    deadline = time.monotonic() + 10
    while _busy_evaluation_threads() == 0:  # it left the loop and runs on a thread
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.01)
    task.cancel()
    cancelled = time.monotonic()
    while _busy_evaluation_threads() > 0:
        assert time.monotonic() - cancelled < 1, "the thread ran on after its caller was cancelled"
        await asyncio.sleep(0.01)


async def test_a_big_blueprint_is_compiled_on_a_thread_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Compiled on the loop, a 5 MB template held it 125-170 ms (Python's compile() alone
    # ~50 ms); on a thread the loop waits only for the GIL between bytecodes.
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    cache = engine.blueprint_ops.plans
    compiled_on: list[str] = []
    real_compile = cache.compile

    def spy(blueprint: Blueprint, key: tuple[object, ...]) -> Plan:
        if blueprint.id == "big":
            compiled_on.append(threading.current_thread().name)
        return real_compile(blueprint, key)

    monkeypatch.setattr(cache, "compile", spy)
    try:
        warm = {"id": "warm", "nodes": [{"id": "a", "type": "set", "params": {"value": "{{ 1 }}"}}]}
        await engine.execute(blueprint=warm)
        text = "x" * 5_000_000
        big = {"id": "big", "nodes": [{"id": "n", "type": "set", "params": {"value": text}}]}
        big["nodes"][0]["params"]["value"] = "{{ '" + text + "' }}"  # type: ignore[index]
        for _ in range(2):
            result = await engine.execute(blueprint=big)
            assert result.nodes["n"].output == text
    finally:
        await engine.close()
    loop_thread = threading.current_thread().name
    assert len(compiled_on) == 1, compiled_on  # the second run found it in the cache
    assert compiled_on[0] != loop_thread


def test_a_replace_in_pieces_matches_str_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_sandbox, "_REPLACE_PIECE", 7)
    rng = random.Random(11)
    for _ in range(2000):
        old = "".join(rng.choice("ab") for _ in range(rng.randint(1, 4)))
        if template_sandbox._overlaps_itself(old):
            continue
        text = "".join(rng.choice("abc") for _ in range(rng.randint(0, 80)))
        new = rng.choice(["", "X", "YYY"])
        assert template_sandbox._in_pieces(text, old, new) == text.replace(old, new)


def test_a_replace_of_millions_of_matches_is_bounded() -> None:
    pieces = compile_template("{{ ('ab' * 3000000)|replace('a', 'xy') }}", "p").render({})
    assert pieces == "xyb" * 3_000_000
    method = compile_template("{{ ('ab' * 3000000).replace('b', '') }}", "p").render({})
    assert method == "a" * 3_000_000
    with pytest.raises(TemplateError, match="matches is refused"):
        compile_template("{{ ('a' * 3000000)|replace('aa', 'b') }}", "p").render({})


def test_lazy_node_types_load_once_from_many_threads() -> None:
    loads: list[str] = []

    def slow_load(name: str) -> NodeType:
        loads.append(name)
        # Wait (up to a second) for a second thread to start loading too: without the
        # registry's lock one does, and both then register the type.
        waited = time.monotonic() + 1
        while len(loads) < 2 and time.monotonic() < waited:
            time.sleep(0.01)

        async def run(params: BaseModel, value: object, ctx: NodeContext) -> object:
            return value

        return NodeType(name, name, "Test", BaseModel, run)

    registry = NodeRegistry()
    registry.register_lazy(["slow.type"], slow_load)
    errors: list[BaseException] = []

    def look() -> None:
        try:
            assert registry.get("slow.type").type == "slow.type"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and loads == ["slow.type"]


def test_jmespath_functions_in_pieces_match_jmespath(monkeypatch: pytest.MonkeyPatch) -> None:
    import jmespath

    from main_process.nodes import bounded_jmespath

    monkeypatch.setattr(bounded_jmespath, "_PIECE", 7)
    monkeypatch.setattr(bounded_jmespath, "_PIECE_BYTES", 40)
    rng = random.Random(5)
    data = {
        "n": [rng.randint(-99, 99) for _ in range(300)],
        "s": [rng.choice(["a", "é", 'b"c', "d"]) for _ in range(200)],
        "o": [{"k": [i, str(i), None, True, 2.5], "m": {"x": [i] * 30}} for i in range(40)],
    }
    for expression in (
        "sort(n)",
        "sort(s)",
        "max(n)",
        "min(s)",
        "sum(n)",
        "avg(n)",
        "to_string(@)",
        "to_string(o)",
        "max(`[]`)",
    ):
        expected = jmespath.search(expression, data)
        got = bounded_jmespath.search(jmespath.compile(expression), data)
        assert got == expected, expression


def test_jmespath_by_functions_in_pieces_match_jmespath(monkeypatch: pytest.MonkeyPatch) -> None:
    # sort_by of 1.6 million items held the loop in one C call of sorted(); in pieces
    # the results must be the same, ties (kept in input order) and errors included.
    import jmespath
    from jmespath.exceptions import JMESPathError, JMESPathTypeError

    from main_process.nodes import bounded_jmespath

    monkeypatch.setattr(bounded_jmespath, "_PIECE", 7)
    longest = [0, 0]  # the longest C call of sorted/max/min, and how many were made

    def spy(builtin: Any) -> Any:
        def measured(*args: Any, **kwargs: Any) -> Any:
            if len(args) > 1:  # max(a, b)
                return builtin(*args, **kwargs)
            items = list(args[0])
            longest[:] = [max(longest[0], len(items)), longest[1] + 1]
            return builtin(items, **kwargs)

        return measured

    for name, builtin in (("sorted", sorted), ("max", max), ("min", min)):
        monkeypatch.setattr(bounded_jmespath, name, spy(builtin), raising=False)
    rng = random.Random(13)
    for trial in range(60):
        size = rng.randint(0, 120)
        rows = [
            {
                "id": i,
                "n": rng.randint(-5, 5),
                "f": rng.choice([0.5, -1, 2, 2.0]),
                "s": rng.choice("abcé"),
            }
            for i in range(size)
        ]
        data = {"r": rows}
        for expression in (
            "sort_by(r, &n)[].id",
            "sort_by(r, &s)[].id",
            "sort_by(r, &f)[].id",
            "max_by(r, &n).id",
            "min_by(r, &n).id",
            "max_by(r, &s).id",
            "min_by(r, &f).id",
            "sort_by(r, &n)[?s == 'a'].id",
        ):
            expected = jmespath.search(expression, data)
            got = bounded_jmespath.search(jmespath.compile(expression), data)
            assert got == expected, (trial, expression)
    # Every C call got one piece of 7, or the firsts of the (at most 18) pieces.
    assert 0 < longest[0] <= 18 and longest[1] > 100, longest
    mixed = {"r": [{"n": 1}] * 20 + [{"n": "x"}] + [{"n": 2}] * 20}
    for expression in ("sort_by(r, &n)", "max_by(r, &n)", "min_by(r, &n)", "sort_by(r, &m)"):
        with pytest.raises((JMESPathTypeError, TypeError)) as plain:
            jmespath.search(expression, mixed)
        with pytest.raises(JMESPathError) as bounded:  # a TypeError becomes a typed error
            bounded_jmespath.search(jmespath.compile(expression), mixed)
        assert plain.type is bounded.type or plain.type is TypeError, expression


def test_template_filters_in_pieces_match_jinja(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import template_pieces

    rng = random.Random(7)
    context = {
        "words": [rng.choice(["b", "A", "a", "C", "é"]) for _ in range(120)],
        "rows": [{"n": rng.randint(0, 9), "s": rng.choice("xyz")} for _ in range(90)],
        "nested": {"z": [[i, str(i), None] for i in range(60)], "a": {"k": list(range(80))}},
    }
    sources = [
        "{{ words|sort|join(',') }}",
        "{{ words|sort(reverse=true, case_sensitive=true)|join }}",
        "{{ rows|sort(attribute='n,s')|map(attribute='s')|join('-') }}",
        "{{ words|join('') }}",
        "{{ rows|join(',', attribute='s') }}",
        "{{ nested|tojson }}",
        "{{ words|tojson }}",
        "{{ nested|tojson(indent=2) }}",
    ]
    plain = [compile_template(source, "p").render(context) for source in sources]
    monkeypatch.setattr(template_pieces, "PIECE", 7)
    monkeypatch.setattr(template_pieces, "PIECE_BYTES", 40)
    pieces = [compile_template(source + " ", "p").render(context).rstrip() for source in sources]
    assert pieces == plain
