"""``conductor show`` of sub-blueprint and loop executions: the children with their
node and status, the parent link, and each loop's done/failed counts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import conductor


def test_show_lists_children_parent_and_loop_counts(home: Path, tmp_path: Path) -> None:
    ran = conductor("run", "subflow-parent", "--json", home=home, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    parent_id = json.loads(ran.stdout)["execution_id"]
    shown = conductor("show", parent_id, "--json", home=home, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    [child] = json.loads(shown.stdout)["links"]["children"]
    assert (child["parent_node_id"], child["blueprint_id"]) == ("price", "subflow-child")
    text = conductor("show", parent_id, home=home, cwd=tmp_path).stdout
    assert "CHILD EXECUTION" in text and child["execution_id"] in text
    child_text = conductor("show", child["execution_id"], home=home, cwd=tmp_path).stdout
    assert f"parent     {parent_id} (node price)" in child_text

    looped = conductor("run", "loop-items", "--json", home=home, cwd=tmp_path)
    assert looped.returncode == 0, looped.stderr
    loop_id = json.loads(looped.stdout)["execution_id"]
    loop_text = conductor("show", loop_id, home=home, cwd=tmp_path).stdout
    assert "loop each: 3 done, 0 failed" in loop_text
