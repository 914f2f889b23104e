"""The engine benchmark's workloads: each blueprint beside its best hand-written twin.

Imported by ``bench/engine.py`` (the measuring); kept apart so each file holds one
concept. Node functions are module-level so the plan cache sees the same objects
run after run, as it does for a user's blueprint.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.request
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from app import Blueprint, EdgeSpec, NodeSpec, create_simple_node

# -- W1, W2, chains ----------------------------------------------------------------


async def add_key(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    value[ctx.node_id] = True
    return value


def add_key_sync(value: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """W2 with plain ``def`` nodes: what the README's example and most users write."""
    value[ctx.node_id] = True
    return value


def chain_blueprint(n: int, *, plain: bool = False) -> Blueprint:
    fn: Any = add_key_sync if plain else add_key
    kind = "def" if plain else "async"
    return Blueprint(
        id=f"chain-{kind}-{n}",
        nodes=[create_simple_node(f"n{i}", "add_key", fn) for i in range(n)],
    )


async def baseline_chain(n: int) -> dict[str, Any]:
    async def step(value: dict[str, Any], key: str) -> dict[str, Any]:
        value[key] = True
        return value

    value: dict[str, Any] = {}
    for i in range(n):
        value = await step(value, f"n{i}")
    return value


async def next_step(value: dict[str, Any]) -> dict[str, Any]:
    return {"step": value.get("step", 0) + 1}


def const_chain(n: int) -> Blueprint:
    return Blueprint(
        id=f"const-{n}", nodes=[create_simple_node(f"n{i}", "step", next_step) for i in range(n)]
    )


# -- sync-node loop stall ------------------------------------------------------------

BLOCK_S = 0.2


def blocks(value: Any) -> Any:
    """A plain function that blocks (a sync HTTP call, a sleep)."""
    time.sleep(BLOCK_S)
    return value


class Sometimes:
    """Fast until told otherwise: the case an engine cannot predict from the past."""

    def __init__(self) -> None:
        self.block = False

    def __call__(self, value: Any) -> Any:
        if self.block:
            time.sleep(BLOCK_S)
        return value


def single(node_id: str, fn: Callable[[Any], Any]) -> Blueprint:
    return Blueprint(id=f"single-{node_id}", nodes=[create_simple_node(node_id, "sync", fn)])


async def longest_stall_ms(work: Callable[[], Awaitable[Any]]) -> float:
    """The longest the loop went without running a 1 ms timer while ``work`` ran."""
    done = False
    worst = 0.0

    async def probe() -> None:
        nonlocal worst
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - start - 0.001)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.005)  # the probe is running
    try:
        await work()
    finally:
        done = True
        await task
    return round(worst * 1000, 1)


# -- W3 -------------------------------------------------------------------------


def fan_blueprint(width: int, seconds: float) -> Blueprint:
    async def start(value: Any) -> int:
        return 0

    def sleeper(index: int) -> Callable[[Any], Awaitable[int]]:
        async def work(value: Any) -> int:
            await asyncio.sleep(seconds)
            return index

        return work

    async def total(value: dict[str, int]) -> int:
        return sum(value.values())

    nodes = [create_simple_node("start", "start", start)]
    nodes += [create_simple_node(f"s{i}", "sleep", sleeper(i)) for i in range(width)]
    nodes.append(create_simple_node("sum", "sum", total))
    edges = [EdgeSpec(source="start", target=f"s{i}") for i in range(width)]
    edges += [EdgeSpec(source=f"s{i}", target="sum") for i in range(width)]
    return Blueprint(id="fan", nodes=nodes, edges=edges)


async def baseline_fan(width: int, seconds: float) -> int:
    async def work(index: int) -> int:
        await asyncio.sleep(seconds)
        return index

    results = await asyncio.gather(*(work(i) for i in range(width)))
    return sum(results)


# -- W4 -------------------------------------------------------------------------


async def ok_step(value: Any) -> dict[str, int]:
    return {"ok": 1}


async def failing_step(value: Any) -> None:
    raise ValueError("node 2 fails")


async def never_step(value: Any) -> None:
    raise AssertionError("node 3 must not run")


def failing_blueprint() -> Blueprint:
    return Blueprint(
        id="fails",
        nodes=[
            create_simple_node("one", "ok", ok_step),
            create_simple_node("two", "fail", failing_step),
            create_simple_node("three", "never", never_step),
        ],
    )


async def baseline_failing() -> str:
    try:
        value = await ok_step({})
        await failing_step(value)
        await never_step(value)
    except ValueError as exc:
        return str(exc)
    return "no failure"


# -- W5 -------------------------------------------------------------------------

ITEMS = 100_000


def produce(value: Any) -> list[dict[str, Any]]:
    return [{"id": i, "value": i % 100, "name": f"item-{i}"} for i in range(ITEMS)]


def double(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "double": item["value"] * 2} for item in items]


def total(items: list[dict[str, Any]]) -> int:
    return sum(item["double"] for item in items)


def items_blueprint() -> Blueprint:
    async def a_produce(value: Any) -> list[dict[str, Any]]:
        return produce(value)

    async def a_double(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return double(items)

    async def a_total(items: list[dict[str, Any]]) -> int:
        return total(items)

    return Blueprint(
        id="items",
        nodes=[
            create_simple_node("produce", "produce", a_produce),
            create_simple_node("map", "double", a_double),
            create_simple_node("sum", "sum", a_total),
        ],
    )


async def baseline_items() -> int:
    async def a_produce() -> list[dict[str, Any]]:
        return produce(None)

    async def a_double(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return double(items)

    async def a_total(items: list[dict[str, Any]]) -> int:
        return total(items)

    return await a_total(await a_double(await a_produce()))


# -- W6 -------------------------------------------------------------------------


class Items(BaseHTTPRequestHandler):
    body = json.dumps(
        [{"id": i, "name": f"item {i}", "price": (i % 7) - 1} for i in range(1000)]
    ).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def http_blueprint(url: str, database: str) -> Blueprint:
    return Blueprint(
        id="http-sql",
        nodes=[
            NodeSpec(id="fetch", type="http.request", params={"url": url}),
            NodeSpec(id="keep", type="json.transform", params={"expression": "[?price > `0`]"}),
            NodeSpec(
                id="save",
                type="sqlite.write",
                params={"database": database, "table": "items", "mode": "replace"},
            ),
        ],
    )


def write_rows(database: str, rows: list[dict[str, Any]]) -> int:
    conn = sqlite3.connect(database)
    try:
        with conn:
            conn.execute(
                'CREATE TABLE IF NOT EXISTS "items" ("id" INTEGER, "name" TEXT, "price" INTEGER)'
            )
            conn.executemany(
                'INSERT OR REPLACE INTO "items" ("id", "name", "price") VALUES (?, ?, ?)',
                [(r["id"], r["name"], r["price"]) for r in rows],
            )
    finally:
        conn.close()
    return len(rows)


class HttpxBaseline:
    """httpx with one client for every run (as a long-lived program holds one),
    jmespath, and the SQLite write on a thread."""

    def __init__(self) -> None:
        import httpx

        self.client = httpx.AsyncClient()

    async def __call__(self, url: str, database: str) -> int:
        import jmespath

        response = await self.client.get(url)
        response.raise_for_status()
        rows = jmespath.search("[?price > `0`]", response.json())
        return await asyncio.to_thread(write_rows, database, rows)

    async def close(self) -> None:
        await self.client.aclose()


async def baseline_urllib(url: str, database: str) -> int:
    """What a script writer would type: blocking urllib, a comprehension, sqlite3."""
    with urllib.request.urlopen(url) as response:
        data = json.loads(response.read())
    return write_rows(database, [row for row in data if row["price"] > 0])
