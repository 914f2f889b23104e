"""An active execution's event log stays bounded in memory; nothing is lost by it.

Regression: every event of an active run was kept in ``ExecutionState.events``
until the run ended (~400 bytes an event), so a node logging 300,000 lines grew
``conductor serve`` by ~116 MB and one logging millions exhausted memory. Now
only a window is kept; events the store has committed are dropped and read back
from it, and readers see the same gap-free sequence either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app import Blueprint, create_simple_node
from main_process.engine.engine import Engine

PHASES = 10
LINES = 300
WINDOW = 100


async def test_a_long_run_keeps_a_window_of_events_and_reads_the_rest_back(home: Path) -> None:
    engine = Engine(home, plugins=False)
    engine.states.memory_events = WINDOW
    sizes: list[int] = []
    reads: dict[str, list[list[int]]] = {"full": [], "pages": []}

    async def chatty(value: Any, ctx: Any) -> int:
        states = engine.states
        for phase in range(PHASES):
            for i in range(LINES):
                ctx.log(f"{phase}.{i}")
            await engine.store.flush()  # commit notices arrive; the next events trim
            state = states.get_active(ctx.execution_id)
            assert state is not None
            sizes.append(len(state.events))
        # Still active: old events come from the store, recent ones from memory.
        reads["full"].append([r[1] for r in states.event_rows_after(ctx.execution_id, 0)])
        for after in (0, 7, 1000, 2900, 2990):
            page = states.event_rows_after(ctx.execution_id, after, 64)
            reads["pages"].append([after, *(r[1] for r in page)])
        return 1

    try:
        bp = Blueprint(id="chatty", nodes=[create_simple_node("c", "c", chatty)])
        eid = await engine.start(blueprint=bp)
        stream = engine.events(eid)
        first = await anext(stream)  # a follower that stops reading for the whole run
        result = await engine.wait(eid)
        assert result.success, result.error
        rest = [e.seq async for e in stream]
    finally:
        await engine.close()

    assert max(sizes) <= 2 * LINES + WINDOW, sizes  # it was PHASES * LINES and growing
    full = reads["full"][0]
    assert full == list(range(1, len(full) + 1))
    assert len(full) >= PHASES * LINES
    for after, *seqs in reads["pages"]:
        assert seqs == list(range(after + 1, min(after + 64, len(full)) + 1)), after
    seqs = [first.seq, *rest]
    assert result.last_seq is not None
    assert seqs == list(range(1, result.last_seq + 1))
