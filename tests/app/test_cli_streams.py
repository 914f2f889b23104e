"""``conductor run``, ``show``, ``history`` and ``output`` with streams of items, as real
subprocesses: the run prints each stream's items, size, first items and how to page
it; ``show`` describes streamed outputs; ``output`` pages what was kept and says when
that is only the first items; a streaming last node's outputs page every item when
recorded in full."""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli_handles import conductor

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "streaming-items.json"


def test_run_of_the_streaming_example_describes_its_streams(home: Path) -> None:
    ran = conductor(home, "run", str(EXAMPLE))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"total": 99990000, "items": 10000}
    lines = {line.split()[0]: line for line in ran.stderr.splitlines() if line.strip()}
    assert lines["STREAM"].split() == ["STREAM", "ITEMS", "SIZE", "KEPT", "FIRST", "ITEMS"]
    assert "10,000" in lines["numbers"] and "first items" in lines["numbers"]
    assert '{"n": 0, "double": 0}' in lines["double"] and "KB" in lines["double"]
    eid = ran.stderr.rsplit("execution ", 1)[1].strip()
    assert f"conductor output {eid} NODE" in ran.stderr

    shown = conductor(home, "show", eid)
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line for line in shown.stdout.splitlines() if line.strip()}
    assert "OUTPUT" in rows["NODE"]
    assert "stream · 10,000 items" in rows["double"] and "first items kept" in rows["double"]
    assert rows["total"].split()[1] == "completed"
    as_json = json.loads(conductor(home, "show", eid, "--json").stdout)
    assert as_json["nodes"]["double"]["output"]["record"] == "summary"

    history = conductor(home, "history")
    assert history.returncode == 0 and eid in history.stdout

    paged = conductor(home, "output", eid, "double")
    assert paged.returncode == 0, paged.stderr
    items = json.loads(paged.stdout)
    assert len(items) == 1000 and items[7] == {"n": 7, "double": 14}
    assert "the first 1,000 of 10,000 items" in paged.stderr
    first = conductor(home, "output", eid, "double", "--limit", "3")  # no --offset: page 0
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["items"] == [{"n": i, "double": 2 * i} for i in range(3)]


def test_a_fully_recorded_streaming_last_node_pages_every_item(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "gen.json"
    node = {"id": "gen", "type": "generate", "params": {"count": 2500}, "record": "full"}
    path.write_text(json.dumps({"id": "gen-full", "nodes": [node]}))
    ran = conductor(home, "run", str(path))
    assert ran.returncode == 0, ran.stderr
    handle = json.loads(ran.stdout)
    assert (handle["kind"], handle["node_id"], handle["count"]) == ("handle", "gen", 2500)
    assert (handle["record"], handle["complete"]) == ("full", True)
    eid = handle["execution_id"]
    assert f"page them with: conductor output {eid} gen" in ran.stderr
    assert "every item kept" in ran.stderr or "all" in ran.stderr
    for args in ((eid,), (eid, "gen")):  # the outputs are the node's stream
        paged = conductor(home, "output", *args)
        assert paged.returncode == 0, paged.stderr
        assert json.loads(paged.stdout) == list(range(2500))
        assert "first" not in paged.stderr
