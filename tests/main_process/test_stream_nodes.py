"""Built-in nodes on streams, on a real engine: file.read of CSV / JSON Lines with
``stream: true``, file.write of a stream, sqlite.query with ``stream: true``,
python.function per item, reduce, and collect of a join."""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app import Blueprint, EdgeSpec, NodeSpec
from main_process.engine.engine import Engine


def add_tax(item: dict[str, Any]) -> dict[str, Any]:
    """A per-item python.function."""
    return {**item, "gross": round(float(item["price"]) * 1.2, 2)}


async def test_csv_stream_to_jsonl_file(engine: Engine, tmp_path: Path) -> None:
    rows = "".join(f"{i},item {i},{i % 7}\n" for i in range(3000))
    (tmp_path / "in.csv").write_text("id,name,price\n" + rows)
    bp = Blueprint(
        id="csv-to-jsonl",
        nodes=[
            NodeSpec(id="read", type="file.read", params={"path": "in.csv", "stream": True}),
            NodeSpec(
                id="tax",
                type="python.function",
                params={
                    "function": "tests.main_process.test_stream_nodes:add_tax",
                    "per_item": True,
                },
            ),
            NodeSpec(id="write", type="file.write", params={"path": "out.jsonl"}),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    assert result.outputs["items"] == 3000
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 3000
    assert json.loads(lines[10]) == {"id": "10", "name": "item 10", "price": "3", "gross": 3.6}


async def test_jsonl_stream_to_csv_and_a_bad_line_names_its_number(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"n": i}) + "\n" for i in range(50)))
    bp = Blueprint(
        id="jsonl-to-csv",
        nodes=[
            NodeSpec(id="read", type="file.read", params={"path": "in.jsonl", "stream": True}),
            NodeSpec(id="write", type="file.write", params={"path": "out.csv"}),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    assert (tmp_path / "out.csv").read_text().splitlines()[:3] == ["n", "0", "1"]

    (tmp_path / "in.jsonl").write_text('{"n": 0}\n{"n": 1}\nnot json\n')
    failed = await engine.execute(blueprint=bp)
    assert failed.error is not None and failed.error.node_id == "read"
    assert "line 3" in failed.error.message and "item 2" in failed.error.message
    assert (tmp_path / "out.csv").read_text().splitlines()[:3] == ["n", "0", "1"]  # kept


async def test_sqlite_query_stream_reduce_and_a_join_of_two_streams(
    engine: Engine, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(4000)])
    bp = Blueprint(
        id="query-stream",
        nodes=[
            NodeSpec(
                id="rows",
                type="sqlite.query",
                params={"database": "db.sqlite", "sql": "SELECT n FROM t", "stream": True},
            ),
            NodeSpec(id="more", type="generate", params={"count": 3}),
            NodeSpec(
                id="total",
                type="reduce",
                params={"expression": "sum([acc, item.n])", "initial": 0},
            ),
            NodeSpec(id="both", type="collect"),
        ],
        edges=[
            EdgeSpec(source="rows", target="total"),
            EdgeSpec(source="rows", target="both"),
            EdgeSpec(source="more", target="both"),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    assert result.outputs["total"] == sum(range(4000))
    both = result.outputs["both"]
    assert both["more"] == [0, 1, 2] and len(both["rows"]) == 4000


async def test_if_per_item_gives_each_port_a_stream(engine: Engine) -> None:
    bp = Blueprint(
        id="route",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"count": 1001, "field": "n"}),
            NodeSpec(
                id="even",
                type="if",
                params={"condition": "{{ input.n % 2 == 0 }}", "per_item": True},
            ),
            NodeSpec(id="evens", type="count"),
            NodeSpec(id="odds", type="sum", params={"field": "n"}),
            NodeSpec(
                id="kind",
                type="switch",
                params={
                    "value": "{{ 'big' if input.n > 990 else 'small' }}",
                    "cases": ["big"],
                    "per_item": True,
                },
            ),
            NodeSpec(id="bigs", type="collect"),
        ],
        edges=[
            EdgeSpec(source="gen", target="even"),
            EdgeSpec(source="even", target="evens", source_port="true"),
            EdgeSpec(source="even", target="odds", source_port="false"),
            EdgeSpec(source="gen", target="kind"),
            EdgeSpec(source="kind", target="bigs", source_port="big"),
        ],
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    assert result.outputs["evens"] == 501
    assert result.outputs["odds"] == sum(range(1, 1001, 2))
    assert result.outputs["bigs"] == [{"n": n} for n in range(991, 1001)]


class _Lines(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for i in range(5000):
            self.wfile.write(json.dumps({"i": i}).encode() + b"\n")

    def log_message(self, *args: Any) -> None:
        pass


async def test_http_request_streams_json_lines(engine: Engine) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Lines)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/lines"
        bp = Blueprint(
            id="ndjson",
            nodes=[
                NodeSpec(id="get", type="http.request", params={"url": url, "stream": True}),
                NodeSpec(id="total", type="sum", params={"field": "i"}),
            ],
        )
        result = await engine.execute(blueprint=bp)
        assert result.success, result.error
        assert result.outputs == sum(range(5000))
        assert result.nodes["get"].output["stream"]["items"] == 5000
    finally:
        server.shutdown()
        server.server_close()


async def test_a_disabled_stage_passes_the_stream_on_and_outputs_show_summaries(
    engine: Engine,
) -> None:
    bp = Blueprint(
        id="bypass",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"count": 2000}),
            NodeSpec(
                id="off",
                type="json.transform",
                params={"expression": "@", "per_item": True},
                disabled=True,
            ),
            NodeSpec(id="n", type="count"),
        ],
        outputs={"generated": "gen", "count": "n"},
    )
    result = await engine.execute(blueprint=bp)
    assert result.success, result.error
    assert result.outputs["count"] == 2000
    assert result.outputs["generated"]["stream"]["items"] == 2000


async def test_a_stream_on_a_process_runner_is_a_validation_problem(engine: Engine) -> None:
    bp = Blueprint(
        id="no-process",
        nodes=[NodeSpec(id="gen", type="generate", params={"count": 2}, runner="process")],
    )
    problems = await engine.validate(bp)
    assert [p.where for p in problems] == ["nodes[0].runner"]


async def test_run_from_a_stream_consumer_runs_its_producer_again(engine: Engine) -> None:
    bp = Blueprint(
        id="from-here",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"count": 100}),
            NodeSpec(id="total", type="sum"),
        ],
    )
    first = await engine.execute(blueprint=bp)
    assert first.success and first.outputs == 4950
    again = await engine.execute(blueprint=bp, config={"start_at": "total"})
    assert again.success, again.error
    assert again.outputs == 4950
    only = await engine.execute(blueprint=bp, config={"only": "total"})
    assert only.error is not None and only.error.type == "StreamError"
    assert "start at 'gen'" in only.error.message


async def test_a_debug_run_records_a_stream_input_as_a_marker_or_summary(engine: Engine) -> None:
    bp = Blueprint(
        id="debug-stream",
        nodes=[
            NodeSpec(id="gen", type="generate", params={"count": 50}),
            NodeSpec(id="n", type="count"),
        ],
    )
    result = await engine.execute(blueprint=bp, config={"debug_mode": True})
    assert result.success, result.error
    shown = result.nodes["n"].input["stream"]  # flowing, or its summary if it had ended
    assert shown == {"of": "gen", "flowing": True} or shown["items"] == 50


async def test_sum_skips_missing_values_and_refuses_text(engine: Engine) -> None:
    def bp(items: list[Any], **params: Any) -> Blueprint:
        return Blueprint(
            id="sums",
            nodes=[
                NodeSpec(id="v", type="set", params={"value": items}),
                NodeSpec(id="s", type="sum", params=params),
            ],
        )

    mixed = [{"a": 1}, {"b": 2}, {"a": None}, {"a": 2.5}, 7]
    assert (await engine.execute(blueprint=bp(mixed, field="a"))).outputs == 3.5
    nested = [{"a": {"b": 1}}, {"a": {"b": 2}}, {"a": 3}]
    assert (await engine.execute(blueprint=bp(nested, field="a.b"))).outputs == 3
    assert (await engine.execute(blueprint=bp([1, None, 2]))).outputs == 3
    text = await engine.execute(blueprint=bp([{"a": "x"}], field="a"))
    assert text.error is not None and "cannot add" in text.error.message


async def test_a_join_waiting_on_a_collect_of_its_own_stream_is_refused(engine: Engine) -> None:
    bp = Blueprint(
        id="would-deadlock",
        nodes=[
            NodeSpec(id="a", type="generate", params={"count": 10}),
            NodeSpec(id="c", type="count"),
            NodeSpec(id="d", type="collect"),
        ],
        edges=[
            EdgeSpec(source="a", target="c"),
            EdgeSpec(source="c", target="d"),
            EdgeSpec(source="a", target="d"),
        ],
    )
    problems = await engine.validate(bp)
    assert [p.where for p in problems] == ["edges[2]"]
    assert "'d'" in problems[0].message and "'a'" in problems[0].message
