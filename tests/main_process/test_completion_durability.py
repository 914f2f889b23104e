"""A node's completion is committed before anyone hears of it or uses its output
(issue 11), and completions that come together share one commit.

Checked from outside the engine: a second SQLite connection reads the file while
the run goes on, from inside an event subscriber and from inside the consuming
node's own code.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from app import Blueprint, EdgeSpec, create_simple_node
from app.events import Event
from main_process.engine.engine import Engine
from tests.reliability.crash_checks import completions


def committed(db: Path, execution_id: str) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return completions(conn, execution_id)


async def test_a_completion_is_committed_before_its_event_and_its_consumer(
    home: Path, tmp_path: Path
) -> None:
    db = home / "conductor.db"
    seen: list[tuple[str, bool]] = []
    engine = Engine(home, base_dir=tmp_path, plugins=False)
    eid_box: list[str] = []

    async def consumer(value: Any, ctx: Any) -> Any:
        # The upstream's output is in hand: its completion must already be on disk.
        seen.append((f"{ctx.node_id} saw upstream", "a" in committed(db, ctx.execution_id)))
        return value

    def on_event(event: Event) -> None:
        if event.kind == "node" and event.status == "completed" and event.node_id:
            eid_box.append(event.execution_id)
            done = committed(db, event.execution_id)
            seen.append((f"event {event.node_id}", event.node_id in done))

    blueprint = Blueprint(
        id="pair",
        nodes=[
            create_simple_node("a", "one", lambda value: {"n": 1}),
            create_simple_node("b", "consumer", consumer),
        ],
    )
    engine.states.subscribe(on_event)
    try:
        result = await engine.execute(blueprint=blueprint)
        assert result.success, result.error
    finally:
        await engine.close()
    assert seen == [
        ("event a", True),
        ("b saw upstream", True),
        ("event b", True),
    ]


async def test_completions_that_come_together_share_a_commit(home: Path, tmp_path: Path) -> None:
    width = 20

    async def quick(value: Any) -> int:
        return 1

    nodes = [create_simple_node("start", "quick", quick)]
    nodes += [create_simple_node(f"w{i}", "quick", quick) for i in range(width)]
    blueprint = Blueprint(
        id="fan",
        nodes=nodes,
        edges=[EdgeSpec(source="start", target=f"w{i}") for i in range(width)],
    )
    engine = Engine(home, base_dir=tmp_path, plugins=False, concurrency=width)
    try:
        await engine.execute(blueprint=blueprint)  # warm
        store = engine.store
        assert store is not None
        writer: Any = store._writer
        writer._commits = 0
        result = await engine.execute(blueprint=blueprint)
        assert result.success, result.error
        commits = writer._commits
    finally:
        await engine.close()
    assert commits <= width // 4, commits  # not one transaction per node
