"""Executor semantics through the direct transport: order, inputs, parallelism,
ports and join rules, failure modes, timeouts, retries and cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

from app import (
    Blueprint,
    Conductor,
    EdgeSpec,
    ExecutionStatus,
    NodeSpec,
    NodeStatus,
    create_simple_node,
)


def dag(nodes: list[NodeSpec], edges: list[tuple[str, str] | tuple[str, str, str]]) -> Blueprint:
    return Blueprint(
        id="t",
        nodes=nodes,
        edges=[
            EdgeSpec(source=e[0], target=e[1], source_port=e[2] if len(e) == 3 else None)
            for e in edges
        ],
    )


async def add_key(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {**value, ctx.node_id: True}


async def test_sequential_chain_passes_each_output_on(conductor: Conductor) -> None:
    bp = Blueprint(
        id="seq",
        nodes=[create_simple_node(f"n{i}", "add", add_key) for i in range(5)],
    )
    result = await conductor.execute(blueprint=bp, inputs={"start": 1})
    assert result.success, result.error
    assert result.outputs == {
        "start": 1,
        "n0": True,
        "n1": True,
        "n2": True,
        "n3": True,
        "n4": True,
    }
    assert result.nodes["n0"].status is NodeStatus.COMPLETED
    assert result.nodes["n2"].output == {"start": 1, "n0": True, "n1": True, "n2": True}


async def test_dag_inputs_one_upstream_and_several(conductor: Conductor) -> None:
    async def const(value: Any, ctx: Any) -> Any:
        return ctx.node_id

    async def echo(value: Any) -> Any:
        return value

    bp = dag(
        [
            create_simple_node("a", "c", const),
            create_simple_node("b", "c", const),
            create_simple_node("one", "e", echo),
            create_simple_node("two", "e", echo),
        ],
        [("a", "one"), ("a", "two"), ("b", "two")],
    )
    result = await conductor.execute(blueprint=bp)
    assert result.success, result.error
    assert result.nodes["one"].output == "a"
    assert result.nodes["two"].output == {"a": "a", "b": "b"}
    assert result.outputs == {"one": "a", "two": {"a": "a", "b": "b"}}


async def test_ready_nodes_run_in_parallel_up_to_the_limit(conductor: Conductor) -> None:
    running = 0
    peak = 0
    all_started = asyncio.Event()

    async def tracked(value: Any) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if peak >= 3:
            all_started.set()
        for _ in range(20):
            await asyncio.sleep(0)
        running -= 1
        return 1

    nodes = [create_simple_node("root", "r", tracked)] + [
        create_simple_node(f"w{i}", "w", tracked) for i in range(6)
    ]
    bp = dag(nodes, [("root", f"w{i}") for i in range(6)])
    result = await conductor.execute(blueprint=bp, config={"concurrency": 3})
    assert result.success
    assert peak == 3

    peak = 0
    result = await conductor.execute(blueprint=bp, config={"parallel": False})
    assert result.success
    assert peak == 1


async def test_parallel_nodes_really_overlap(conductor: Conductor) -> None:
    barrier = asyncio.Barrier(4)

    async def meet(value: Any) -> str:
        async with asyncio.timeout(5):
            await barrier.wait()
        return "met"

    nodes = [create_simple_node(f"p{i}", "m", meet) for i in range(4)]
    bp = Blueprint(id="par", nodes=nodes, edges=[])
    result = await conductor.execute(blueprint=bp)
    assert result.success, result.error
    assert all(n.output == "met" for n in result.nodes.values())


async def test_if_ports_skip_the_untaken_branch_and_propagate(conductor: Conductor) -> None:
    bp = dag(
        [
            NodeSpec(id="check", type="if", params={"condition": "{{ input.n > 5 }}"}),
            NodeSpec(id="big", type="set", params={"value": "big"}),
            NodeSpec(id="small", type="set", params={"value": "small"}),
            NodeSpec(id="after_small", type="set", params={"value": "after"}),
            NodeSpec(id="join", type="merge", params={"mode": "list"}, when="none_failed"),
        ],
        [
            ("check", "big", "true"),
            ("check", "small", "false"),
            ("small", "after_small"),
            ("big", "join"),
            ("after_small", "join"),
        ],
    )
    result = await conductor.execute(blueprint=bp, inputs={"n": 9})
    assert result.success, result.error
    states = {k: v.status for k, v in result.nodes.items()}
    assert states == {
        "check": NodeStatus.COMPLETED,
        "big": NodeStatus.COMPLETED,
        "small": NodeStatus.SKIPPED,
        "after_small": NodeStatus.SKIPPED,
        "join": NodeStatus.COMPLETED,
    }
    assert result.nodes["check"].port == "true"
    assert result.nodes["join"].output == ["big"]

    result = await conductor.execute(blueprint=bp, inputs={"n": 1})
    assert result.nodes["big"].status is NodeStatus.SKIPPED
    assert result.nodes["join"].output == ["after"]


async def test_switch_routes_to_the_matching_case_or_default(conductor: Conductor) -> None:
    bp = dag(
        [
            NodeSpec(
                id="route", type="switch", params={"value": "{{ input.kind }}", "cases": ["a", "b"]}
            ),
            NodeSpec(id="on_a", type="set", params={"value": "A"}),
            NodeSpec(id="on_b", type="set", params={"value": "B"}),
            NodeSpec(id="other", type="set", params={"value": "?"}),
        ],
        [("route", "on_a", "a"), ("route", "on_b", "b"), ("route", "other", "default")],
    )
    for kind, ran in (("a", "on_a"), ("b", "on_b"), ("zzz", "other")):
        result = await conductor.execute(blueprint=bp, inputs={"kind": kind})
        assert result.success, result.error
        completed = {k for k, v in result.nodes.items() if v.status is NodeStatus.COMPLETED}
        assert completed == {"route", ran}


async def test_fast_failure_cancels_running_nodes_and_the_rest(conductor: Conductor) -> None:
    started = asyncio.Event()

    async def slow(value: Any) -> None:
        started.set()
        await asyncio.sleep(3600)

    async def fails(value: Any) -> None:
        await started.wait()
        raise RuntimeError("disk on fire")

    async def never(value: Any) -> None:
        raise AssertionError("must not run")

    bp = dag(
        [
            create_simple_node("slow", "s", slow),
            create_simple_node("bad", "b", fails),
            create_simple_node("after", "n", never),
        ],
        [("bad", "after")],
    )
    result = await conductor.execute(blueprint=bp)
    assert result.status is ExecutionStatus.FAILED
    assert not result.success
    assert result.error is not None
    assert result.error.node_id == "bad"
    assert result.error.type == "RuntimeError"
    assert "disk on fire" in result.error.message
    assert result.nodes["bad"].status is NodeStatus.FAILED
    assert result.nodes["slow"].status is NodeStatus.CANCELLED
    assert result.nodes["after"].status is NodeStatus.CANCELLED


async def test_continue_on_error_feeds_the_error_record_downstream(conductor: Conductor) -> None:
    async def fails(value: Any) -> None:
        raise ValueError("bad row 7")

    async def echo(value: Any) -> Any:
        return value

    bp = Blueprint(
        id="cont",
        nodes=[
            create_simple_node("bad", "b", fails, on_error="continue"),
            create_simple_node("next", "e", echo),
        ],
    )
    result = await conductor.execute(blueprint=bp)
    assert result.success
    assert result.status is ExecutionStatus.COMPLETED
    assert result.nodes["bad"].status is NodeStatus.FAILED
    record = {"error": {"type": "ValueError", "message": "bad row 7"}}
    assert result.nodes["bad"].output == record
    assert result.outputs == record


async def test_join_rules_with_a_continued_failure(conductor: Conductor) -> None:
    async def fails(value: Any) -> None:
        raise ValueError("nope")

    async def ok(value: Any) -> str:
        return "ok"

    nodes = [
        create_simple_node("bad", "b", fails, on_error="continue"),
        create_simple_node("good", "g", ok),
        create_simple_node("all_success", "g", ok),
        create_simple_node("none_failed", "g", ok, when="none_failed"),
        create_simple_node("any_success", "g", ok, when="any_success"),
        create_simple_node("all_done", "g", ok, when="all_done"),
    ]
    targets = ["all_success", "none_failed", "any_success", "all_done"]
    edges: list[tuple[str, str] | tuple[str, str, str]] = []
    for t in targets:
        edges += [("bad", t), ("good", t)]
    result = await conductor.execute(blueprint=dag(nodes, edges))
    assert result.success, result.error
    status = {t: result.nodes[t].status for t in targets}
    assert status == {
        "all_success": NodeStatus.COMPLETED,
        "none_failed": NodeStatus.SKIPPED,
        "any_success": NodeStatus.COMPLETED,
        "all_done": NodeStatus.COMPLETED,
    }


async def test_timeout_fails_a_hanging_node_at_its_timeout(conductor: Conductor) -> None:
    async def hang(value: Any) -> None:
        await asyncio.Event().wait()

    bp = Blueprint(id="hang", nodes=[create_simple_node("hang", "h", hang, timeout=0.05)])
    result = await conductor.execute(blueprint=bp)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "NodeTimeoutError"
    assert result.error.node_id == "hang"
    assert result.error.where == "nodes[0].timeout"


async def test_timeout_on_a_blocking_thread_node_does_not_hold_the_execution(
    conductor: Conductor,
) -> None:
    import threading

    release = threading.Event()

    def blocking(value: Any) -> None:
        release.wait(10)

    bp = Blueprint(id="block", nodes=[create_simple_node("b", "b", blocking, timeout=0.05)])
    try:
        result = await conductor.execute(blueprint=bp)
    finally:
        release.set()
    assert result.error is not None
    assert result.error.type == "NodeTimeoutError"


async def test_retry_retries_until_success_and_reports_retrying(conductor: Conductor) -> None:
    calls = 0

    async def flaky(value: Any) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError(f"try {calls} failed")
        return "finally"

    node = create_simple_node(
        "flaky", "f", flaky, retry={"max_attempts": 3, "delay": 0.001, "backoff": 2.0}
    )
    eid = await conductor.start(blueprint=Blueprint(id="retry", nodes=[node]))
    events = [e async for e in conductor.events(eid)]
    result = await conductor.wait(eid)
    assert result.success
    assert result.nodes["flaky"].attempts == 3
    retrying = [e for e in events if e.status == "retrying"]
    assert [e.attempt for e in retrying] == [1, 2]
    assert retrying[0].data is not None
    assert "try 1 failed" in retrying[0].data["error"]["message"]


async def test_retry_gives_up_after_max_attempts(conductor: Conductor) -> None:
    async def always(value: Any) -> None:
        raise ConnectionError("down")

    node = create_simple_node("x", "f", always, retry={"max_attempts": 2, "delay": 0})
    result = await conductor.execute(blueprint=Blueprint(id="r2", nodes=[node]))
    assert result.status is ExecutionStatus.FAILED
    assert result.nodes["x"].attempts == 2


async def test_cancel_stops_a_running_execution(conductor: Conductor) -> None:
    async def hang(value: Any) -> None:
        await asyncio.Event().wait()

    bp = Blueprint(
        id="c",
        nodes=[create_simple_node("h", "h", hang), create_simple_node("after", "h", hang)],
    )
    eid = await conductor.start(blueprint=bp)
    async for event in conductor.events(eid):
        if event.node_id == "h" and event.status == "running":
            break
    assert await conductor.cancel(eid) is True
    result = await conductor.wait(eid)
    assert result.status is ExecutionStatus.CANCELLED
    assert result.error is not None and result.error.type == "ExecutionCancelledError"
    assert result.nodes["h"].status is NodeStatus.CANCELLED
    assert result.nodes["after"].status is NodeStatus.CANCELLED
    assert await conductor.cancel(eid) is False


async def test_execution_timeout_fails_the_run(conductor: Conductor) -> None:
    async def hang(value: Any) -> None:
        await asyncio.Event().wait()

    bp = Blueprint(id="t", nodes=[create_simple_node("h", "h", hang)])
    result = await conductor.execute(blueprint=bp, config={"timeout": 0.05})
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and result.error.type == "ExecutionTimeoutError"


async def test_debug_mode_records_inputs(conductor: Conductor) -> None:
    bp = Blueprint(
        id="dbg",
        nodes=[
            NodeSpec(id="a", type="set", params={"value": {"x": 1}}),
            NodeSpec(id="b", type="json.transform", params={"expression": "x"}),
        ],
    )
    plain = await conductor.execute(blueprint=bp)
    assert plain.nodes["b"].input is None
    result = await conductor.execute(blueprint=bp, config={"debug_mode": True})
    assert result.nodes["b"].input == {"x": 1}
    assert result.outputs == 1
    stored = await conductor.get_execution(result.execution_id)
    assert stored.nodes["b"].input == {"x": 1}


async def test_templates_yield_native_values(conductor: Conductor) -> None:
    bp = Blueprint(
        id="tpl",
        inputs={"items": {"type": "array"}, "name": {"type": "string", "default": "world"}},
        nodes=[
            NodeSpec(id="a", type="set", params={"value": "{{ inputs.items }}"}),
            NodeSpec(
                id="b",
                type="set",
                params={
                    "value": {
                        "count": "{{ nodes.a.output | length }}",
                        "hi": "hi {{ inputs.name }}",
                    }
                },
            ),
        ],
        outputs={"first": "a", "summary": "{{ nodes.b.output }}", "exec": "{{ execution.id }}"},
    )
    result = await conductor.execute(blueprint=bp, inputs={"items": [1, 2, 3]})
    assert result.success, result.error
    assert result.outputs["first"] == [1, 2, 3]
    assert result.outputs["summary"] == {"count": 3, "hi": "hi world"}
    assert result.outputs["exec"] == result.execution_id


async def test_a_template_failing_at_run_time_names_its_place(conductor: Conductor) -> None:
    bp = Blueprint(
        id="tplbad",
        nodes=[
            NodeSpec(id="a", type="set", params={"value": {"x": 1}}),
            NodeSpec(id="b", type="set", params={"value": "{{ input.missing.deeper }}"}),
        ],
    )
    result = await conductor.execute(blueprint=bp)
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "TemplateError"
    assert result.error.node_id == "b"
    assert result.error.where is not None and result.error.where.startswith("nodes[1].params")


async def test_sync_functions_run_off_the_loop(conductor: Conductor) -> None:
    import threading

    main = threading.get_ident()

    def where(value: Any) -> int:
        return threading.get_ident()

    result = await conductor.execute(
        blueprint=Blueprint(id="th", nodes=[create_simple_node("w", "w", where)])
    )
    assert result.outputs != main
    inline = create_simple_node("w", "w", where, runner="inline")
    result = await conductor.execute(blueprint=Blueprint(id="th2", nodes=[inline]))
    assert result.outputs == main


async def test_the_engine_wide_limit_spans_executions(home: Any, tmp_path: Any) -> None:
    from app import create_conductor

    running = 0
    peak = 0

    async def tracked(value: Any) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(10):
            await asyncio.sleep(0)
        running -= 1
        return 1

    c = create_conductor("direct", home=home, plugins=False, global_concurrency=2)
    try:
        bp = Blueprint(
            id="g", nodes=[create_simple_node(f"p{i}", "t", tracked) for i in range(3)], edges=[]
        )
        results = await asyncio.gather(*(c.execute(blueprint=bp) for _ in range(3)))
        assert all(r.success for r in results)
        assert peak == 2
    finally:
        await c.close()


async def test_executions_beyond_the_limit_wait_in_order(home: Any) -> None:
    from app import create_conductor

    gates = {name: asyncio.Event() for name in ("first", "second")}
    started: list[str] = []

    async def gated(value: Any) -> str:
        started.append(value["name"])
        await gates[value["name"]].wait()
        return str(value["name"])

    c = create_conductor("direct", home=home, plugins=False, max_executions=1)
    try:
        bp = Blueprint(id="q", nodes=[create_simple_node("g", "g", gated)])
        first = await c.start(blueprint=bp, inputs={"name": "first"})
        second = await c.start(blueprint=bp, inputs={"name": "second"})
        third = await c.start(blueprint=bp, inputs={"name": "third"})
        while started != ["first"]:
            await asyncio.sleep(0)
        waiting = await c.get_execution(second)
        assert waiting.status is ExecutionStatus.PENDING
        assert waiting.queue_position == 1
        assert (await c.get_execution(third)).queue_position == 2
        assert await c.cancel(third) is True
        cancelled = await c.wait(third)
        assert cancelled.status is ExecutionStatus.CANCELLED
        assert cancelled.nodes["g"].status is NodeStatus.CANCELLED
        assert (await c.get_execution(second)).queue_position == 1
        gates["first"].set()
        assert (await c.wait(first)).success
        while started != ["first", "second"]:
            await asyncio.sleep(0)
        gates["second"].set()
        done = await c.wait(second)
        assert done.success and done.queue_position is None
    finally:
        await c.close()


async def test_cancel_right_after_start_never_runs_a_node(conductor: Conductor) -> None:
    async def never(value: Any) -> None:
        raise AssertionError("must not run")

    eid = await conductor.start(
        blueprint=Blueprint(id="n", nodes=[create_simple_node("x", "x", never)])
    )
    assert await conductor.cancel(eid) is True
    result = await conductor.wait(eid)
    assert result.status is ExecutionStatus.CANCELLED
    assert result.nodes["x"].status is NodeStatus.CANCELLED
